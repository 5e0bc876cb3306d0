/**
 * Texts of the state level's screen (role `state`, estatal: aggregates across the installation's
 * cities; views/state/StateView.tsx). Spanish first, English complete; spread into i18n.ts.
 */
export const stateEs = {
  roleState: 'Estatal',
  stateTitle: 'Resumen estatal por municipio',
  stateNote: 'Solo agregados por municipio: sin placas, sin datos personales, sin flujos de los dispositivos.',
  stateDays: 'Días',
  stateCity: 'Municipio',
  stateDevicesOnline: 'Dispositivos en línea',
  stateOpenAlerts: 'Alertas abiertas',
  stateAirDays: 'Índice AIRE Y SALUD por estación y día (peor hora)',
  stateNoiseExceeded: 'Excedencias de ruido (NOM-081)',
  stateStation: 'Estación',
  stateDate: 'Fecha',
  statePeriod: 'Periodo',
  stateNoData: 'Sin datos',
  stateUnreachable: 'No respondió',
  stateNone: 'Ninguna',
  period_day: 'Día',
  period_night: 'Noche',
  stateCityAlerts: '{critical} críticas · {warning} advertencias · {info} informativas',
} as const;

export const stateEn: Record<keyof typeof stateEs, string> = {
  roleState: 'State',
  stateTitle: 'State overview by municipality',
  stateNote: 'Aggregates per municipality only: no plates, no personal data, no device streams.',
  stateDays: 'Days',
  stateCity: 'Municipality',
  stateDevicesOnline: 'Devices online',
  stateOpenAlerts: 'Open alerts',
  stateAirDays: 'AIRE Y SALUD index per station and day (worst hour)',
  stateNoiseExceeded: 'Noise exceedances (NOM-081)',
  stateStation: 'Station',
  stateDate: 'Date',
  statePeriod: 'Period',
  stateNoData: 'No data',
  stateUnreachable: 'Did not answer',
  stateNone: 'None',
  period_day: 'Day',
  period_night: 'Night',
  stateCityAlerts: '{critical} critical · {warning} warning · {info} info',
};
