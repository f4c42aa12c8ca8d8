// The page shell: one inline stylesheet allowed by its hash, no script at all, nothing loaded from
// elsewhere (air-gapped management nodes). The main page refreshes itself with a meta refresh.
import { createHash } from 'node:crypto';
import { Html, html } from './html.js';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;gap:8px 28px;align-items:baseline}
header h1{font-size:18px;margin:0}header a{color:#fff}
main{padding:12px 20px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;margin:0 0 14px;overflow-x:auto}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eceef1;vertical-align:top}
th{font-weight:600;color:#4a5263}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;background:#eef0f3;padding:1px 4px;border-radius:3px;word-break:break-all}
.muted{color:#6b7385}.bad{color:#b3261e;font-weight:600}.ok{color:#1e7b34;font-weight:600}
.legend span{margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.onTargetConfirmed{background:#2e9e4f}.onTargetTagOnly{background:#9bd3a9}.older{background:#e0a100}.ahead{background:#3b6fd4}.unknown{background:#9aa1ad}
nav.pages a,nav.pages span{margin-right:10px}form label{margin-right:12px}
`;

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/** No script, no external anything; the stylesheet only by its hash; forms only to this server. */
export const PAGE_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

export function page(opts: { title: string; header: Html; body: Html; refreshSeconds?: number }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : null}
<link rel="icon" href="data:,">
<title>${opts.title}</title><style>${new Html(STYLE)}</style></head>
<body><header>${opts.header}</header><main>${opts.body}</main></body></html>
`.text;
}
