if (msg.statusCode !== 200 || typeof msg.payload !== 'string') {
  node.warn({ code: 'E_NODE_RED_OPEN_DATA', stream: msg.stream, status: msg.statusCode });
  node.status({ fill: 'red', shape: 'ring', text: msg.stream + ': HTTP ' + msg.statusCode });
  return null;
}
node.status({ fill: 'green', shape: 'dot', text: msg.stream + ' ' + new Date(msg.hour).toISOString().slice(0, 13) + 'h' });
return msg;
