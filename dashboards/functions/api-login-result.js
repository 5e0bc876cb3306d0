if (msg.statusCode === 200 && msg.payload && typeof msg.payload.token === 'string') {
  global.set('apiToken', msg.payload.token);
  node.status({ fill: 'green', shape: 'dot', text: 'logged in as ' + msg.payload.username });
} else {
  node.status({ fill: 'red', shape: 'ring', text: 'login failed: ' + msg.statusCode });
  node.warn({ code: 'E_API_LOGIN', status: msg.statusCode });
}
return null;
