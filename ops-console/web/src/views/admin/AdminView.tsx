/** Administration (admins only): users, devices, geofences, audit log, rejected messages (dead letters). */
import { useState } from 'react';
import { useConsole } from '../../context';
import { UsersAdmin } from './UsersAdmin';
import { DevicesAdmin } from './DevicesAdmin';
import { AuditLog } from './AuditLog';
import { DeadLetters } from './DeadLetters';
import { GeofencesAdmin } from './GeofencesAdmin';

const SECTIONS = ['users', 'devices', 'geofences', 'audit', 'deadLetters'] as const;
type Section = (typeof SECTIONS)[number];
const LABEL: Record<Section, string> = { users: 'adminUsers', devices: 'adminDevices', geofences: 'adminGeofences', audit: 'adminAudit', deadLetters: 'adminDeadLetters' };

export function AdminView() {
  const { t } = useConsole();
  const [section, setSection] = useState<Section>('users');
  return (
    <div className="planners admin" data-testid="admin-view">
      <nav className="subtabs" role="tablist">
        {SECTIONS.map((s) => (
          <button key={s} role="tab" aria-selected={section === s} className={section === s ? 'tab active' : 'tab'} data-section={s} onClick={() => setSection(s)}>
            {t(LABEL[s])}
          </button>
        ))}
      </nav>
      {section === 'users' && <UsersAdmin />}
      {section === 'devices' && <DevicesAdmin />}
      {section === 'geofences' && <GeofencesAdmin />}
      {section === 'audit' && <AuditLog />}
      {section === 'deadLetters' && <DeadLetters />}
    </div>
  );
}
