// Checks "endpoint", "tls", "clock-skew" and "api-version", all read from the one probe exchange.
import type { Config } from '../config/schema.js';
import { printable } from '../text/printable.js';
import { fail, pass, skip, warn, type CheckResult } from './check.js';
import type { Probe } from './mn-probe.js';

/** AccessKey signatures are refused beyond this (zstack-api.md 1.4, REQUEST_DURATION_MINUTES). */
const SKEW_FAIL_MS = 15 * 60_000;
/** More than clock jitter plus the Date header's one-second resolution. */
const SKEW_WARN_MS = 5_000;

const TLS_ERROR = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|ALTNAME|HOSTNAME|CA_FILE/;
const NTP_FIX = 'synchronise both clocks with NTP (chronyc tracking, timedatectl status on this host and on the MN)';

export function endpointChecks(config: Config, probe: Probe): CheckResult[] {
  const https = new URL(config.zstack.endpoint).protocol === 'https:';
  if (probe.kind === 'error') {
    const why = `${probe.message} (${probe.code})`;
    if (probe.code === 'ERR_SSL_WRONG_VERSION_NUMBER' && https) {
      return [
        fail('endpoint', `${config.zstack.endpoint} is https:// but the server there answers plain HTTP (no TLS)`,
          'use http:// in zstack.endpoint, or enable TLS on the management node'),
        skip('tls', 'the server speaks no TLS'),
        ...skipped('no reply over TLS'),
      ];
    }
    if (TLS_ERROR.test(probe.code)) {
      return [
        pass('endpoint', `${config.zstack.endpoint} answers a connection`),
        fail('tls', `the certificate is not accepted: ${why}`, tlsFix(config)),
        ...skipped('no reply over TLS'),
      ];
    }
    return [
      fail('endpoint', `${probe.url}: ${why}`, 'check zstack.endpoint (host, port 8080 unless changed, http/https), that the MN runs (zstack-ctl status), and the firewall between this host and the MN'),
      skip('tls', 'not reached'),
      ...skipped('not reached'),
    ];
  }
  if (!speaksZStack(probe)) {
    // Any web server answers something; only a ZStack MN answers this call its own way (zstack-api.md 1.3, 10.2).
    const excerpt = printable(probe.text.replace(/\s+/g, ' ').trim().slice(0, 80));
    return [
      fail('endpoint', `${probe.url} answered HTTP ${probe.status}${excerpt ? ` "${excerpt}"` : ''}, not as a ZStack management node does ` +
        `(404 "no api mapping to ..." or 400 "missing header 'Authorization'")`,
        'point zstack.endpoint at the MN API (http://MN:8080 unless changed), not the web UI (port 5000) or another server or proxy'),
      tlsCheck(config, https),
      ...skipped('the endpoint is not a ZStack MN'),
    ];
  }
  return [
    pass('endpoint', `${config.zstack.endpoint} answers as a ZStack management node (HTTP ${probe.status})`),
    tlsCheck(config, https),
    clockSkew(probe),
    apiVersion(probe),
  ];
}

/**
 * The unauthenticated GET of QueryGuestToolsState as only the MN answers it: 404 `no api mapping to ...`
 * (before 4.6.11) or 400 `missing header 'Authorization'` (zstack-api.md 1.3, 10.2).
 */
export function speaksZStack(probe: Extract<Probe, { kind: 'reply' }>): boolean {
  const text = probe.text.trim();
  return (probe.status === 404 && text.startsWith('no api mapping to')) || (probe.status === 400 && text.includes("missing header 'Authorization'"));
}

function skipped(why: string): CheckResult[] {
  return [skip('clock-skew', why), skip('api-version', why)];
}

function tlsFix(config: Config): string {
  return config.zstack.tls.caFile === null
    ? 'set zstack.tls.caFile to the PEM file of the CA that signed the MN certificate (and use the name the certificate was issued for)'
    : `check that zstack.tls.caFile ${config.zstack.tls.caFile} holds the CA that signed the MN certificate, and that zstack.endpoint uses a name in the certificate`;
}

function tlsCheck(config: Config, https: boolean): CheckResult {
  if (!https) return skip('tls', 'plain HTTP endpoint');
  if (!config.zstack.tls.rejectUnauthorized) {
    return warn('tls', 'certificate NOT verified (zstack.tls.rejectUnauthorized is false)', 'set zstack.tls.caFile to the MN CA and remove zstack.tls.rejectUnauthorized');
  }
  return pass('tls', `certificate verified against ${config.zstack.tls.caFile ?? 'the system CAs'}`);
}

function clockSkew(probe: Extract<Probe, { kind: 'reply' }>): CheckResult {
  const mnTime = probe.date === null ? NaN : Date.parse(probe.date);
  if (Number.isNaN(mnTime)) return warn('clock-skew', 'the MN reply has no usable Date header', 'check that zstack.endpoint is the MN itself, not a proxy that strips headers');
  // The Date header has a one-second resolution and was written somewhere during the exchange.
  const skewMs = mnTime - (probe.sentAt + probe.receivedAt) / 2;
  const abs = Math.abs(skewMs);
  const seconds = Math.round(abs / 1000);
  const detail = abs < 1_000 ? 'within a second of this host' : `the MN clock is ${seconds} s ${skewMs > 0 ? 'ahead of' : 'behind'} this host`;
  if (abs > SKEW_FAIL_MS) return fail('clock-skew', `${detail} (over 15 min: AccessKey requests are refused)`, NTP_FIX);
  if (abs > SKEW_WARN_MS) return warn('clock-skew', detail, NTP_FIX);
  return pass('clock-skew', detail);
}

function apiVersion(probe: Extract<Probe, { kind: 'reply' }>): CheckResult {
  if (probe.status === 404 && probe.text.includes('no api mapping')) {
    // Runs still work: the GuestTools:: tags alone decide (README: Management node versions).
    return warn('api-version', 'QueryGuestToolsState is absent (GET /zstack/v1/guesttools: 404 no api mapping): the MN is older than 4.6.11, ' +
      'so GuestTools versions come from GuestTools:: tags alone', 'upgrade the management node to 4.6.11 or later to use the guests\' own reports');
  }
  if (probe.status === 400 || probe.status === 401 || probe.status === 200) {
    return pass('api-version', 'QueryGuestToolsState present (MN 4.6.11 or later)');
  }
  const excerpt = printable(probe.text.replace(/\s+/g, ' ').trim().slice(0, 120));
  return warn('api-version', `unexpected reply to GET /zstack/v1/guesttools: HTTP ${probe.status} ${excerpt}`,
    'check that zstack.endpoint is the MN API (port 8080), not the UI or a proxy');
}
