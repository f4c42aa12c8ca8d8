// The Chinese meanings of the catalogs, beside the English ones in src/ (ZStack's own UI terms: 云主机,
// 管理节点, 光驱, 加载 for attach). One entry per code: a code added to a catalog fails the type check
// here until it has its Chinese meaning.
import type { ErrorCode, ExitName } from '../../src/errors.js';
import type { ReasonKey } from '../../src/plan/reasons.js';
import { SHUTDOWN_GRACE_MS } from '../../src/reconcile/shutdown.js';

export const EXIT_ZH: Readonly<Record<ExitName, string>> = {
  ok: '没有失败（包括：无事可做、dry run、仅有目录不一致）',
  someFailed: '部分加载失败',
  usage: '用法或配置错误（包括：数据库不可用、迁移不一致、没有该运行）',
  unreachable: 'ZStack 不可达、登录或 AccessKey 被拒绝、回复错误，或 ISO 目录不存在、无法读取或没有可用的 GuestTools ISO',
  budgetHalted: '因错误预算而停止',
  leaseHeld: '另一个运行持有租约（消息中写明持有者），或本次运行中途失去租约（被另一进程接管：未开始的加载为 `defer/lease-lost`），' +
    '或本节点是管理节点对中的 standby（`GTR_NOT_LEADER`；运行中失去 leader 身份时也是），或本节点刚成为 leader、' +
    '其账本在 2 x `ha.syncInterval` 内未追上对端（`GTR_HA_NOT_CAUGHT_UP`，未做任何加载）',
  rollout: '滚动升级命令：没有该滚动升级，或不允许的状态转换',
  internal: '内部错误（bug：请报告）',
};

export const SIGNAL_ZH = `\`reconcile\` 被 SIGINT / SIGTERM 停止：不再开始新的加载，进行中的加载有限时等待（${SHUTDOWN_GRACE_MS / 1000} 秒，可用 ` +
  '`GTR_SHUTDOWN_GRACE_MS` 修改），之后放弃其调用（结果为 `interrupted`，保留任务 uuid，由下次运行的重放处理，绝不重复加载）；' +
  '运行记录为 `interrupted`；第二个信号立即退出';

const FIX_CONFIG = '修正配置（见 config/example.jsonc）后重试。';

export const ERRORS_ZH: Readonly<Record<ErrorCode, { about: string; hint?: string }>> = {
  GTR_USAGE: { about: '命令行错误：未知的命令、选项或值', hint: '运行 "gtr --help"（或 "gtr <command> --help"）查看用法。' },
  GTR_CONFIG_INVALID: { about: '配置中有一个或多个无效的值', hint: FIX_CONFIG },
  GTR_CONFIG_UNREADABLE: { about: '配置文件或密码文件无法读取或解析', hint: FIX_CONFIG },
  GTR_CATALOG_UNUSABLE: { about: 'ISO 目录不存在或无法读取' },
  GTR_CATALOG_EMPTY: { about: 'ISO 目录中没有可用的 GuestTools ISO（没有，或只有无法解析或被忽略的文件）' },
  GTR_ZSTACK_UNREACHABLE: { about: '无法连接管理节点（连接、TLS 或超时）' },
  GTR_ZSTACK_LOGIN_REFUSED: { about: '管理节点拒绝登录' },
  GTR_ZSTACK_ACCESS_KEY_REFUSED: { about: '管理节点拒绝该 AccessKey（未知或已禁用的 AccessKey、Secret 错误、没有 AccessKey 模块，或两端时钟相差超过 15 分钟）' },
  GTR_ZSTACK_API: { about: '管理节点返回了 ZStack 错误' },
  GTR_ZSTACK_HTTP: { about: '管理节点返回了意外的 HTTP 状态码，且没有 ZStack 错误内容' },
  GTR_ZSTACK_BAD_REPLY: { about: '管理节点的回复不是预期的 JSON' },
  GTR_JOB_TIMEOUT: { about: '异步任务未在 zstack.jobTimeoutMs 内完成' },
  GTR_JOB_LOST: { about: '管理节点不认识该异步任务（已过期或在重启中丢失）' },
  GTR_LEDGER_UNUSABLE: { about: 'SQLite 数据库无法打开或写入' },
  GTR_MIGRATION_DRIFT: { about: '已执行的迁移与代码不一致（缺失、被修改、顺序不同，或数据库比代码新）' },
  GTR_LEASE_HELD: { about: '另一个运行持有租约', hint: '等待该运行结束；已退出的持有者在其租约过期后会被自动接管。' },
  GTR_NOT_LEADER: {
    about: '本节点是管理节点对中的 standby（ha.leaderCheck）：由另一个节点加载',
    hint: '在 leader 上运行；gtr plan 在这里也可用（它不做任何改变）。见 README 的 "Leader check"。',
  },
  GTR_HA_NOT_CAUGHT_UP: {
    about: '本节点刚成为 leader，其账本尚未追上对端（ha.peer）',
    hint: '本节点的守护进程会从对端追上（其 /healthz 的 ha.sync.reason 说明在等什么）；追上后再运行。见 README 的 "Two management nodes"。',
  },
  GTR_HA_SNAPSHOT_REFUSED: { about: '未使用对端节点的账本快照：已损坏，或属于另一个 schema 版本（保留本机的）' },
  GTR_ROLLOUT_NOT_FOUND: { about: '没有该 ID 的滚动升级' },
  GTR_ROLLOUT_REFUSED: { about: '现在不允许该滚动升级命令：当前状态不允许的状态转换、与进行中的滚动升级冲突，或没有需要升级的云主机' },
  GTR_ABORTED: { about: '操作被中止（停止或超时）' },
};

export const INTERNAL_ZH = { about: '意外错误（出现在加载结果的 `error` 中；命令的意外错误以退出码 70 结束）', hint: '这是 bug：请报告' };

const RETRY = 'gtr retry --vm UUID';

export const REASONS_ZH: Readonly<Record<ReasonKey, { help: string; attention?: string }>> = {
  'attach/outdated': { help: '版本低于目录中的目标版本' },
  'attach/untagged': { help: '没有任何版本信息，且已开启 `policy.attachUntagged`' },
  'install/attached': {
    help: '本工具在之前的运行中加载的 ISO 仍在光驱中，guest agent 正在运行，该平台有安装命令（`install.mode: "qga"` 或 `rollout start --install`），' +
      '且尚未为该目标版本启动过安装：在客户机内运行安装程序',
  },
  'skip/excluded': { help: '未被 `policy.include` 选中，或被 `policy.exclude` 选中' },
  'skip/not-user-vm': { help: '不是 `UserVm`（appliance 云主机）' },
  'skip/unsupported-hypervisor': { help: '虚拟化类型不是 KVM' },
  'skip/unknown-architecture': { help: '管理节点没有该云主机的 CPU 架构；从不猜测', attention: '在 ZStack 中设置该云主机的 CPU 架构' },
  'skip/no-iso': { help: '没有适用于该云主机 agent 类型（Windows、WindowsVirtio：Windows 版工具；其他平台：Linux 版工具）和 CPU 架构的 ISO' },
  'skip/untagged': { help: '没有版本（标签或 guest 上报），且 `attachUntagged` 未开启' },
  'skip/unparseable-tag': {
    help: '`GuestTools::` 标签的值不是版本号',
    attention: '设置与 guest 实际运行版本一致的 GuestTools::X.Y.Z 标签，或删除错误的标签',
  },
  'skip/up-to-date': { help: '已是目标版本' },
  'skip/ahead': { help: '比所有 ISO 都新：从不降级' },
  'skip/no-cdrom': { help: '没有可加载的光驱', attention: '为该云主机添加光驱' },
  'skip/catalog-mismatch': {
    help: '管理节点提供的版本与 ISO 目录中的不同（重启管理节点）',
    attention: '重启管理节点，使其加载 ISO 目录中的 ISO',
  },
  'skip/install-failed': {
    help: '安装程序在客户机内失败（`GuestTools::InstallFailed` 标签、失败的脚本执行详情，或管理节点拒绝了脚本；`gtr runs show` 给出原因和 stderr 末尾）；' +
      '在执行 `gtr retry --vm UUID` 之前，不再为该目标版本加载或安装',
    attention: RETRY,
  },
  'skip/not-converging': {
    help: '已为该目标版本加载 `policy.maxAttempts` 次仍未得到 guest 确认（或又从该版本回退），且距上次加载已过 `reattachAfter`；' +
      '直到目标版本变化或执行 `gtr retry --vm UUID`',
    attention: RETRY,
  },
  'defer/catalog-unverified': {
    help: '本次运行中该云主机所在分组的目录探测失败（`detail` 中有其错误）',
    attention: '检查管理节点：目录探测失败（见错误）',
  },
  'defer/quarantined': { help: '连续失败 `policy.quarantineAfter` 次；等待 `quarantineBase`，每次加倍，最多 7 天', attention: RETRY },
  'defer/installing': {
    help: '安装程序已在客户机内启动，其证据（`install.settle` 之后刷新的客户机状态，或不是本工具发送的标签）还没有到；超过 `install.timeout` 记为 `failed`（`no-evidence`）',
  },
  'defer/awaiting-install': {
    help: '为该目标版本加载不足 `policy.reattachAfter`；或管理节点在该云主机上的 `guestToolsHasAttached` 标签创建不足 ' +
      '`reattachAfter`，而本数据库在这段时间内没有自己的加载（由另一个管理节点或被替换的数据库加载；`detail` 说明时间）',
  },
  'defer/not-running': { help: '云主机未运行；运行后再加载' },
  'defer/cdrom-busy': {
    help: '光驱 0 中有用户的镜像仓库 ISO，加载会将其弹出（部分 kvmagent 版本总是使用光驱 0）；设置 `policy.ejectUserIso` 则照常加载',
    attention: '弹出光驱 0 中用户的 ISO，或设置 policy.ejectUserIso',
  },
  'defer/iso-soak': { help: '目标 ISO 版本首次发现不足 `policy.isoSoak`（`auto` 模式，且没有以它为目标的滚动升级）' },
  'defer/outside-window': { help: '不在任何 `schedule.windows` 时间窗口内' },
  'defer/not-in-wave': {
    help: '只通过滚动升级加载：有滚动升级覆盖该云主机的 agent 类型而其批次尚未开始（或滚动升级已暂停），或 `policy.mode` 为 ' +
      '`rollout`，或该版本最近一次滚动升级已中止',
  },
  'defer/run-limit': { help: '超出 `policy.maxPerRun` 或 `--limit`（按 uuid 顺序）' },
  'defer/budget-halted': { help: '运行在此次加载之前因错误预算而停止' },
  'defer/shutdown': { help: '此次加载开始之前进程被要求停止（SIGTERM/SIGINT）；进行中的加载已完成' },
  'defer/lease-lost': { help: '此次加载开始之前运行失去了租约（被另一进程接管）' },
  'defer/not-leader': {
    help: '此次加载开始之前本节点不再是管理节点对中的 leader（`ha.leaderCheck`）：由另一个节点加载（见 README 的 Leader check）；' +
      '或本节点刚成为 leader，尚未追上对端的账本（见 README 的 Two management nodes）',
  },
};
