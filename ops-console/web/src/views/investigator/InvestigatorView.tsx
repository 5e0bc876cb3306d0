/** Investigation (investigators, admins): plate search with its timeline, and the plate hotlist. */
import { useState } from 'react';
import { useConsole } from '../../context';
import { PlateSearch } from './PlateSearch';
import { Hotlist } from './Hotlist';

export function InvestigatorView() {
  const { t } = useConsole();
  const [section, setSection] = useState<'search' | 'hotlist'>('search');
  return (
    <div className="investigate" data-testid="investigate-view">
      <nav className="subtabs" role="tablist">
        <button role="tab" aria-selected={section === 'search'} className={section === 'search' ? 'tab active' : 'tab'} data-section="search" onClick={() => setSection('search')}>
          {t('plateSearch')}
        </button>
        <button role="tab" aria-selected={section === 'hotlist'} className={section === 'hotlist' ? 'tab active' : 'tab'} data-section="hotlist" onClick={() => setSection('hotlist')}>
          {t('hotlist')}
        </button>
      </nav>
      {section === 'search' ? <PlateSearch /> : <Hotlist />}
    </div>
  );
}
