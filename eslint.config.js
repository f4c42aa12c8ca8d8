import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'bench-results/', 'release/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // One fenced, gated way to start anything (src/apply/start-path.ts): only the start transaction
      // issues the permits the ZStack client needs for a state-changing request.
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.object.name='StartPermit'][callee.property.name='issue']",
        message: 'StartPermit.issue is for src/apply/start-path.ts only: start changes through StartPath.start (one gated, fenced transaction)',
      }],
    },
  },
  {
    // The start path itself; the client's own tests and the naive baseline of the benchmark, which
    // send single requests to the simulator outside any run.
    files: ['src/apply/start-path.ts', 'test/helpers/permits.ts', 'scripts/bench/naive.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
