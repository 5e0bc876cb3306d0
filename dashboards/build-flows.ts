/**
 * The shipped Node-RED flows, built from readable sources: node wiring here, function bodies in
 * dashboards/functions/*.js. `npx tsx dashboards/build-flows.ts` writes dashboards/flows.json
 * pretty-printed (as Node-RED writes it with flowFilePretty); a test checks it is up to date.
 * Only core nodes: inject, function, mqtt in/out, http request, file, link in/out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FLOWS_FILE = path.join(here, 'flows.json');
const fn = (name: string) => fs.readFileSync(path.join(here, 'functions', `${name}.js`), 'utf8');

type N = Record<string, unknown> & { id: string; type: string };
const BROKER = 'cfg-broker';

const tab = (id: string, label: string, info: string): N => ({ id, type: 'tab', label, disabled: false, info, env: [] });
const inject = (id: string, z: string, name: string, wires: string[], o: { once?: number; repeat?: number; topic?: string; props?: { p: string; v?: string; vt?: string }[] } = {}): N => ({
  id,
  type: 'inject',
  z,
  name,
  props: o.props ?? (o.topic ? [{ p: 'payload' }, { p: 'topic', vt: 'str' }] : [{ p: 'payload' }]),
  repeat: o.repeat ? String(o.repeat) : '',
  crontab: '',
  once: o.once !== undefined,
  onceDelay: o.once ?? 0.1,
  topic: o.topic ?? '',
  payload: '',
  payloadType: 'date',
  x: 0,
  y: 0,
  wires: [wires],
});
const func = (id: string, z: string, name: string, file: string, wires: string[][]): N => ({
  id,
  type: 'function',
  z,
  name,
  func: fn(file),
  outputs: wires.length,
  timeout: 0,
  noerr: 0,
  initialize: '',
  finalize: '',
  libs: [],
  x: 0,
  y: 0,
  wires,
});
const mqttOut = (id: string, z: string, name: string): N => ({
  id,
  type: 'mqtt out',
  z,
  name,
  topic: '',
  qos: '1',
  retain: 'false',
  respTopic: '',
  contentType: '',
  userProps: '',
  correl: '',
  expiry: '',
  broker: BROKER,
  x: 0,
  y: 0,
  wires: [],
});
const mqttIn = (id: string, z: string, name: string, topic: string, wires: string[]): N => ({
  id,
  type: 'mqtt in',
  z,
  name,
  topic,
  qos: '1',
  datatype: 'json',
  broker: BROKER,
  nl: false,
  rap: true,
  rh: 0,
  inputs: 0,
  x: 0,
  y: 0,
  wires: [wires],
});
const http = (id: string, z: string, name: string, ret: 'obj' | 'txt', wires: string[]): N => ({
  id,
  type: 'http request',
  z,
  name,
  method: 'use',
  ret,
  paytoqs: 'ignore',
  url: '',
  tls: '',
  persist: false,
  proxy: '',
  insecureHTTPParser: false,
  authType: '',
  senderr: false,
  headers: [],
  x: 0,
  y: 0,
  wires: [wires],
});
const file = (id: string, z: string, name: string): N => ({
  id,
  type: 'file',
  z,
  name,
  filename: 'filename',
  filenameType: 'msg',
  appendNewline: false,
  createDir: true,
  overwriteFile: 'true',
  encoding: 'utf8',
  x: 0,
  y: 0,
  wires: [[]],
});

/** a link between tabs (core link nodes): out → in */
const linkOut = (id: string, z: string, name: string, to: string): N => ({ id, type: 'link out', z, name, mode: 'link', links: [to], x: 0, y: 0 });
const linkIn = (id: string, z: string, name: string, from: string, wires: string[]): N => ({ id, type: 'link in', z, name, links: [from], x: 0, y: 0, wires: [wires] });

/** Lay nodes out left to right in the editor, one row per tab in order of appearance. */
function layout(nodes: N[]): N[] {
  const col = new Map<string, number>();
  for (const n of nodes) {
    if (n.type === 'tab' || !n.z) continue;
    const z = n.z as string;
    const c = col.get(z) ?? 0;
    col.set(z, c + 1);
    n.x = 160 + (c % 5) * 220;
    n.y = 80 + Math.floor(c / 5) * 100;
  }
  return nodes;
}

export function buildFlows(): N[] {
  const nodes: N[] = [
    {
      id: BROKER,
      type: 'mqtt-broker',
      name: 'city broker (nodered service account, from the environment)',
      broker: '',
      port: '1883',
      clientid: '',
      autoConnect: false,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      autoUnsubscribe: true,
      birthTopic: '',
      birthQos: '0',
      birthRetain: 'false',
      birthPayload: '',
      birthMsg: {},
      closeTopic: '',
      closeQos: '0',
      closeRetain: 'false',
      closePayload: '',
      closeMsg: {},
      willTopic: '',
      willQos: '0',
      willRetain: 'false',
      willPayload: '',
      willMsg: {},
      userProps: '',
      sessionExpiry: '',
    },

    tab(
      'tab-connect',
      'Connections',
      'Connects to the broker as the `nodered` service account and logs in to the console API; credentials come from the environment (set by dashboards/node-red.ts), never from the flows.',
    ),
    inject('connect-start', 'tab-connect', 'on start', ['connect-fn'], { once: 0.2 }),
    func('connect-fn', 'tab-connect', 'broker from environment', 'mqtt-connect', [['connect-out']]),
    mqttOut('connect-out', 'tab-connect', 'connect'),
    inject('login-start', 'tab-connect', 'on start, every 6 h', ['login-fn'], { once: 0.5, repeat: 21600 }),
    func('login-fn', 'tab-connect', 'API login', 'api-login', [['login-http']]),
    http('login-http', 'tab-connect', 'POST /api/auth/login', 'obj', ['login-result']),
    func('login-result', 'tab-connect', 'keep token', 'api-login-result', [['login-link-out']]),
    linkOut('login-link-out', 'tab-connect', 'logged in: reconcile escalations', 'esc-login-in'),

    tab(
      'tab-escalation',
      'Escalation',
      'A critical alert not acknowledged within ESCALATE_AFTER_MIN minutes of its opening is re-published as an `escalate` AlertEvent on its svc/alerts/<id> topic and POSTed to WEBHOOK_URL (if set). Pending escalations are kept in the persistent `file` context store and reconciled with the console API (its open critical alerts) at start, after each login and every 30 s, so an alert opened, acknowledged or resolved while Node-RED was down or disconnected is escalated on time, or not at all.',
    ),
    mqttIn('esc-in', 'tab-escalation', 'alert events', 'city/v1/svc/alerts/+', ['esc-fn']),
    inject('esc-reconcile-tick', 'tab-escalation', 'on start, every 30 s', ['esc-reconcile-fn'], { once: 1, repeat: 30 }),
    linkIn('esc-login-in', 'tab-escalation', 'after the API login', 'login-link-out', ['esc-reconcile-fn']),
    func('esc-reconcile-fn', 'tab-escalation', 'ask the console API for open critical alerts', 'escalation-reconcile', [['esc-reconcile-http'], ['esc-fn']]),
    http('esc-reconcile-http', 'tab-escalation', 'GET /api/alerts?state=open&severity=critical', 'obj', ['esc-fn']),
    func('esc-fn', 'tab-escalation', 'escalate unacknowledged critical alerts', 'escalation', [['esc-out'], ['esc-http']]),
    mqttOut('esc-out', 'tab-escalation', 'publish escalate'),
    http('esc-http', 'tab-escalation', 'POST webhook', 'obj', ['esc-result']),
    func('esc-result', 'tab-escalation', 'webhook result', 'webhook-result', []),

    tab(
      'tab-report',
      'Daily report',
      "At REPORT_AT (local, CITY_TZ) the day's coverage per route, missed streets, alerts by kind, worst air quality and noise per station are pulled from the console API and written to REPORT_DIR as ops-report-<date>.csv and .txt.",
    ),
    inject('report-tick', 'tab-report', 'every minute', ['report-due'], { repeat: 60 }),
    inject('report-now', 'tab-report', 'run report now', ['report-due'], { props: [{ p: 'force', v: 'true', vt: 'bool' }] }),
    func('report-due', 'tab-report', 'report due?', 'report-due', [['report-fetch']]),
    func('report-fetch', 'tab-report', 'fetch from console API', 'report-fetch', [['report-http'], ['report-build']]),
    http('report-http', 'tab-report', 'GET console API', 'obj', ['report-fetch']),
    func('report-build', 'tab-report', 'build CSV + summary', 'report-build', [['report-file']]),
    file('report-file', 'tab-report', 'write report files'),

    tab('tab-open-data', 'Open data', "Every hour the previous hour's air-quality and noise aggregates (public /api/open endpoints) are dropped as CSV files under OPEN_DATA_DIR/<stream>/<date>/."),
    inject('od-tick', 'tab-open-data', 'every hour', ['od-hour'], { once: 30, repeat: 3600 }),
    func('od-hour', 'tab-open-data', 'previous hour', 'opendata-hour', [['od-http']]),
    http('od-http', 'tab-open-data', 'GET /api/open/<stream>', 'txt', ['od-result']),
    func('od-result', 'tab-open-data', 'check', 'opendata-result', [['od-file']]),
    file('od-file', 'tab-open-data', 'write CSV'),
  ];
  return layout(nodes);
}

export const renderFlows = (): string => JSON.stringify(buildFlows(), null, 4) + '\n';

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(FLOWS_FILE, renderFlows());
  console.log(`wrote ${FLOWS_FILE}`);
}
