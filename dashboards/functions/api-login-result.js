// Output 1 (both outcomes): the escalation's reconciliation asks the API now (it waits for the login).
if (msg.statusCode === 200 && msg.payload && typeof msg.payload.token === 'string') {
  global.set('apiToken', msg.payload.token);
  global.set('apiLoginState', 'ok');
  node.status({ fill: 'green', shape: 'dot', text: 'logged in as ' + msg.payload.username });
} else {
  node.status({ fill: 'red', shape: 'ring', text: 'login failed: ' + msg.statusCode });
  node.warn({ code: 'E_NODE_RED_API_LOGIN', status: msg.statusCode });
  global.set('apiLoginState', 'failed');
}
return { topic: 'login', payload: global.get('apiLoginState') };
