/**
 * Before the broker closes a device's connection it tells the device why, on the device's own
 * `…/notice` topic (contract/commissioning.ts), written straight to that connection: MQTT 3.1.1
 * has no reason codes once connected, and the installer's check reads this to tell "topic
 * refused" from "session taken over by another connection".
 */
import type { Client } from 'aedes';
import { noticeTopic, type BrokerNotice } from '../contract';
import type { Identity } from './acl';

export function sendNotice(client: Client, who: Identity | undefined, notice: Omit<BrokerNotice, 'at'>, done: () => void): void {
  if (!who || who.type !== 'device' || client.closed) return done();
  const body: BrokerNotice = { ...notice, at: Date.now() };
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    done();
  };
  // never hold the close up for long: a stalled socket gets no notice
  const t = setTimeout(once, 200);
  try {
    client.publish({ cmd: 'publish', topic: noticeTopic(who.kind, who.id), payload: Buffer.from(JSON.stringify(body)), qos: 0, retain: false, dup: false } as never, () => (clearTimeout(t), once()));
  } catch {
    clearTimeout(t);
    once();
  }
}
