/**
 * Every action the audit log records — the API writes only these (`AuditRepo.write` takes an
 * `AuditAction`), and the admin's audit screen filters by and names them (i18n `audit_<action>`).
 */
export const AUDIT_ACTIONS = [
  'plate_search',
  'plate_purge',
  'alert_plate_reveal',
  'alert_plates_service',
  'hotlist_upsert',
  'hotlist_delete',
  'hotlist_import',
  'hotlist_export',
  'hotlist_seed',
  'user_create',
  'user_password_reset',
  'user_disable',
  'user_enable',
  'password_change',
  'device_add',
  'device_edit',
  'device_rotate',
  'device_retire',
  'geofence_create',
  'geofence_update',
  'geofence_delete',
  'geofence_seed',
  'export',
  'export_cancel',
  'report_contact',
  'report_contact_purge',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
