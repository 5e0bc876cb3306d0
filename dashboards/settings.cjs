/**
 * Node-RED settings for the city operations center. Everything deployment-specific comes from
 * the environment that dashboards/node-red.ts sets for the child process:
 *   NODE_RED_PORT, NODE_RED_HOST, NODE_RED_FLOW_FILE, NODE_RED_CREDENTIAL_SECRET,
 *   NODE_RED_ADMIN_USER, NODE_RED_ADMIN_HASH (bcrypt), NODE_RED_LOG_LEVEL
 * and, for the flows (read with env.get): CITY_MQTT_URL/USERNAME/PASSWORD, CITY_API_URL/TOKEN/
 * USERNAME/PASSWORD, CITY_TZ, ESCALATE_AFTER_MIN, WEBHOOK_URL, REPORT_AT, REPORT_DIR, OPEN_DATA_DIR.
 * Without an admin hash the editor and admin API are disabled (flows still run).
 */
const env = process.env;
// started by dashboards/node-red.ts with an IPC channel as a lifeline: when the parent is gone
// (even killed with -9) the channel closes and Node-RED stops cleanly instead of living on
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
const adminHash = env.NODE_RED_ADMIN_HASH || '';

module.exports = {
  uiPort: Number(env.NODE_RED_PORT) || 1880,
  uiHost: env.NODE_RED_HOST || '127.0.0.1',
  flowFile: env.NODE_RED_FLOW_FILE || 'flows.json',
  flowFilePretty: true,
  credentialSecret: env.NODE_RED_CREDENTIAL_SECRET,
  ...(adminHash
    ? { adminAuth: { type: 'credentials', sessionExpiryTime: 8 * 3600, users: [{ username: env.NODE_RED_ADMIN_USER || 'admin', password: adminHash, permissions: '*' }] } }
    : { disableEditor: true, httpAdminRoot: false }),
  httpNodeRoot: false,
  diagnostics: { enabled: false, ui: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
  functionExternalModules: false,
  functionTimeout: 10,
  exportGlobalContextKeys: false,
  // `file`: pending escalations survive restarts (userDir/context/, flushed every second)
  contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem', config: { flushInterval: 1 } } },
  logging: { console: { level: env.NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false } },
  editorTheme: {
    page: { title: 'City operations — Node-RED' },
    header: { title: 'City operations — Node-RED' },
    projects: { enabled: false },
    tours: false,
  },
};
