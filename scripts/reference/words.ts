// The words of the reference pages in each language. English comes from the catalogs themselves; the
// Chinese meanings sit in zh-CN.ts, one per catalog entry (a missing entry fails the type check, a hint
// in one language only fails the generator).
import { ERROR_CODES, EXIT_ABOUT, INTERNAL_ERROR, hintOf, type ErrorCode, type ExitName } from '../../src/errors.js';
import { SIGNAL_EXIT_ABOUT } from '../../src/reconcile/exit-code.js';
import { REASONS, type ReasonKey } from '../../src/plan/reasons.js';
import { ERRORS_ZH, EXIT_ZH, INTERNAL_ZH, REASONS_ZH, SIGNAL_ZH } from './zh-CN.js';

export interface Language {
  readonly dir: string;
  readonly exitTitle: string;
  readonly exitHead: readonly string[];
  exitAbout(name: ExitName): string;
  readonly signalAbout: string;
  exitPrecedence(order: string): string;
  readonly errorsTitle: string;
  readonly errorsIntro: string;
  readonly errorsHead: readonly string[];
  errorAbout(code: ErrorCode): string;
  errorHint(code: ErrorCode): string | undefined;
  readonly internalAbout: string;
  readonly internalHint: string;
  readonly reasonsTitle: string;
  reasonsIntro(order: string): string;
  readonly reasonsHead: readonly string[];
  reasonHelp(key: ReasonKey): string;
  /** The needs-attention fix, when the reason has one. */
  reasonAttention(key: ReasonKey): string | undefined;
  readonly storedCount: string;
  readonly storedRow: string;
  readonly rolloutRole: Readonly<Record<'final' | 'candidate', string>>;
  readonly yes: string;
  readonly no: string;
  readonly reasonsColumns: string;
}

const UUID = 'UUID';

/** A fix that is a command is code; a step in words is not. */
function fixText(fix: string): string {
  return fix.startsWith('gtr ') ? `\`${fix}\`` : fix;
}

export const EN: Language = {
  dir: 'docs/reference',
  exitTitle: 'Exit codes',
  exitHead: ['code', 'meaning'],
  exitAbout: (name) => EXIT_ABOUT[name],
  signalAbout: SIGNAL_EXIT_ABOUT,
  exitPrecedence: (order) => `When several apply, the first of ${order} wins (\`src/reconcile/exit-code.ts\`). ` +
    'An error stops a command with its code\'s exit code: see [errors](errors.md).',
  errorsTitle: 'Error codes',
  errorsIntro: 'Client error codes, in `error.code` of the JSON output and in messages. The CLI prints the message, ' +
    'then the fix when there is one, else the code and its meaning; never a stack trace. An attach\'s `error` may also ' +
    'carry a ZStack code (e.g. `SYS.1007`) from the management node.',
  errorsHead: ['code', 'exit', 'meaning', 'what to do'],
  errorAbout: (code) => ERROR_CODES[code].about,
  errorHint: (code) => hintOf(code),
  internalAbout: `${INTERNAL_ERROR.about} (in an attach's \`error\`; an unexpected error of a command exits ${INTERNAL_ERROR.exit})`,
  internalHint: 'a bug: please report it',
  reasonsTitle: 'Reason codes',
  reasonsIntro: (order) => 'Every decision of a run is an action (attach, install, skip or defer) with one reason; the codes are ' +
    `part of the JSON contract. When several apply, the first in this order wins: ${order}.`,
  reasonsHead: ['action / reason', 'meaning', 'precedence', 'stored as', 'needs attention: the fix', 'rollout role', 'out of date'],
  reasonHelp: (key) => REASONS[key].help,
  reasonAttention: (key) => {
    const fix = REASONS[key].attention;
    return fix && fixText(fix(UUID));
  },
  storedCount: 'a count',
  storedRow: 'a row per VM',
  rolloutRole: { final: 'final: the member is skipped', candidate: 'candidate: attached once its wave allows' },
  yes: 'yes',
  no: 'no',
  reasonsColumns: '*Stored as*: a steady skip is kept as a count of the run only, every other decision as a row of the ' +
    'VM (`gtr runs show`). *Needs attention*: the reason does not clear by itself; `gtr status` lists the VM with ' +
    'the fix. *Rollout role*, for a VM of a rollout: a final skip ends its membership (no later run attaches it for ' +
    'that target), a candidate defer keeps it a member waiting for its turn. *Out of date*: counted in ' +
    '`gtr_vms_out_of_date`.',
};

/** The Chinese text of something the catalog may or may not give: both languages give it, or neither. */
function bothOrNeither(what: string, zh: string | undefined, english: unknown): string | undefined {
  if ((zh === undefined) !== (english === undefined)) {
    throw new Error(`scripts/reference/zh-CN.ts: ${what} in ${zh === undefined ? 'English only' : 'Chinese only'}; give both or neither`);
  }
  return zh;
}

function zhHint(code: ErrorCode): string | undefined {
  return bothOrNeither(`${code} has a hint`, ERRORS_ZH[code].hint, hintOf(code));
}

function zhAttention(key: ReasonKey): string | undefined {
  const zh = bothOrNeither(`${key} has an attention fix`, REASONS_ZH[key].attention, REASONS[key].attention);
  return zh && fixText(zh);
}

export const ZH: Language = {
  dir: 'docs/zh-CN/reference',
  exitTitle: '退出码',
  exitHead: ['退出码', '含义'],
  exitAbout: (name) => EXIT_ZH[name],
  signalAbout: SIGNAL_ZH,
  exitPrecedence: (order) => `多个退出码同时适用时，按 ${order} 的顺序取第一个（\`src/reconcile/exit-code.ts\`）。` +
    '命令因错误停止时使用该错误码的退出码：见[错误码](errors.md)。',
  errorsTitle: '错误码',
  errorsIntro: '客户端错误码，出现在 JSON 输出的 `error.code` 和消息中。CLI 先打印消息，有处理方法时再打印处理方法，' +
    '否则打印错误码及其含义；从不打印堆栈。加载结果的 `error` 也可能是管理节点返回的 ZStack 错误码（如 `SYS.1007`）。',
  errorsHead: ['错误码', '退出码', '含义', '处理方法'],
  errorAbout: (code) => ERRORS_ZH[code].about,
  errorHint: zhHint,
  internalAbout: INTERNAL_ZH.about,
  internalHint: INTERNAL_ZH.hint,
  reasonsTitle: '原因码',
  reasonsIntro: (order) => '每次运行对每台云主机做出一个决策（`attach` 加载、`install` 安装、`skip` 跳过或 `defer` 推迟），并附一个原因；' +
    `原因码是 JSON 契约的一部分。多个原因同时适用时，按以下顺序取第一个：${order}。`,
  reasonsHead: ['决策 / 原因', '含义', '优先级', '存储方式', '需要处理：处理方法', '滚动升级中的作用', '计为过旧'],
  reasonHelp: (key) => REASONS_ZH[key].help,
  reasonAttention: zhAttention,
  storedCount: '仅计数',
  storedRow: '每台云主机一行',
  rolloutRole: { final: '最终：成员被跳过', candidate: '候选：轮到其批次时加载' },
  yes: '是',
  no: '否',
  reasonsColumns: '*存储方式*：稳定的跳过只记为本次运行的计数，其他决策记为该云主机的一行（`gtr runs show`）。' +
    '*需要处理*：该原因不会自行消除；`gtr status` 列出该云主机及处理方法。*滚动升级中的作用*（对滚动升级中的云主机）：' +
    '最终的跳过结束其成员资格（之后的运行不再为该目标版本加载它），候选的推迟使其仍是等待轮次的成员。' +
    '*计为过旧*：计入 `gtr_vms_out_of_date`。',
};
