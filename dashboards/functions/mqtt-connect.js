// Connect the shared broker configuration with the `nodered` service account from the
// environment (CITY_MQTT_URL, CITY_MQTT_USERNAME, CITY_MQTT_PASSWORD): no secret in the flows.
const raw = env.get('CITY_MQTT_URL') || 'mqtt://127.0.0.1:1883';
let u;
try {
  u = new URL(raw);
} catch {
  node.error({ code: 'E_NODE_RED_MQTT_URL', detail: 'CITY_MQTT_URL is not a URL: ' + raw });
  return null;
}
const tls = u.protocol === 'mqtts:' || u.protocol === 'wss:';
msg.action = 'connect';
msg.broker = {
  broker: u.hostname,
  port: Number(u.port) || (tls ? 8883 : 1883),
  usetls: tls,
  username: env.get('CITY_MQTT_USERNAME') || 'nodered',
  password: env.get('CITY_MQTT_PASSWORD') || '',
  clientid: 'nodered-' + Math.random().toString(36).slice(2, 10),
  cleansession: true,
};
node.status({ fill: 'green', shape: 'dot', text: 'connecting to ' + u.host });
return msg;
