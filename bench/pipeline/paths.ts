import { fileURLToPath } from 'node:url';
/** the script forked for the broker and sink children */
export const CHILDREN_SCRIPT_PATH = fileURLToPath(new URL('./children.ts', import.meta.url));
