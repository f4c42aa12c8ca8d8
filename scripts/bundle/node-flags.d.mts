// Types of node-flags.mjs for the TypeScript scripts that import it (the benchmark).
export declare const NODE_FLAGS: string[];
