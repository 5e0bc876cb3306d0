/** Node-RED as a child process: the flow a city would build (mqtt in → function → influxdb out). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, waitFor } from '../../testing/net';
import { trackChild } from '../harness';
import { TEST_PASSWORD } from '../lib';

export async function startNodeRed(mqttPort: number, influxUrl: string, db: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const dir = tempDir('bench-nodered-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.resolve('node_modules/node-red-contrib-influxdb'), path.join(dir, 'node_modules/node-red-contrib-influxdb'));
  const u = new URL(influxUrl);
  const fn = `const p = msg.payload; msg.payload = [{ lat: p.lat, lon: p.lon, speedKmh: p.speedKmh, heading: p.heading, time: p.ts }, { deviceId: msg.topic.split('/')[3] }]; return msg;`;
  const flows = [
    { id: 'tab1', type: 'tab', label: 'bench' },
    {
      id: 'broker1',
      type: 'mqtt-broker',
      name: 'city',
      broker: '127.0.0.1',
      port: String(mqttPort),
      clientid: 'bench-nodered',
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
    },
    {
      id: 'in1',
      type: 'mqtt in',
      z: 'tab1',
      name: '',
      topic: 'city/v1/truck/+/gps',
      qos: '1',
      datatype: 'json',
      broker: 'broker1',
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      x: 100,
      y: 100,
      wires: [['fn1']],
    },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'tags+time', func: fn, outputs: 1, x: 300, y: 100, wires: [['out1']] },
    { id: 'influx1', type: 'influxdb', hostname: u.hostname, port: u.port, protocol: 'http', database: db, name: 'influx', usetls: false, influxdbVersion: '1.x' },
    { id: 'out1', type: 'influxdb out', z: 'tab1', influxdb: 'influx1', name: '', measurement: 'gps', precision: 'ms', retentionPolicy: '', database: db, x: 500, y: 100, wires: [] },
  ];
  fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flows));
  fs.writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify({ broker1: { user: 'admin', password: TEST_PASSWORD('admin') } }));
  fs.writeFileSync(
    path.join(dir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, logging: { console: { level: 'warn' } }, editorTheme: { tours: false }, externalModules: { autoInstall: false } };\n`,
  );
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [path.resolve('node_modules/node-red/red.js'), '--userDir', dir, '--settings', path.join(dir, 'settings.js'), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(proc, true);
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  proc.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`node-red exited: ${out}`);
      const r = await fetch(`http://127.0.0.1:${port}/flows`).catch(() => null);
      return r?.ok;
    },
    60_000,
    200,
    'node-red',
  );
  return {
    proc,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
