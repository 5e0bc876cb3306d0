/** The part of xml2js (no bundled types) the Open311 spec client test uses. */
declare module 'xml2js' {
  export function parseStringPromise(xml: string, opts?: { explicitArray?: boolean; explicitRoot?: boolean }): Promise<unknown>;
}
