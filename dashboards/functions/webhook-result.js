if (msg.statusCode >= 200 && msg.statusCode < 300) {
  node.status({ fill: 'green', shape: 'dot', text: 'webhook ' + msg.statusCode + ' for ' + msg.alertId });
} else {
  node.status({ fill: 'red', shape: 'ring', text: 'webhook failed: ' + (msg.statusCode || 'no response') });
  node.warn({ code: 'E_NODE_RED_WEBHOOK', status: msg.statusCode, alertId: msg.alertId });
}
return null;
