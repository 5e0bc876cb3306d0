/** Schemas shared by the routes (TypeBox → Ajv validation, serialization and the OpenAPI document). */
import { Type } from 'typebox';
import { ROLES } from '../../shared/live';

import { OneOf } from '../../shared/api';

export { OneOf };

export const Ms = (description: string) => Type.Integer({ minimum: 0, maximum: 4_102_444_800_000, 'x-unit': 'ms since epoch', description });

/** Required half-open time range [from, to). */
export const RangeQuery = {
  from: Ms('start (inclusive)'),
  to: Ms('end (exclusive)'),
};
export const OptRangeQuery = {
  from: Type.Optional(Ms('start (inclusive)')),
  to: Type.Optional(Ms('end (exclusive)')),
};

export const DeviceIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 40 }) });
export const DeviceIdList = Type.String({ pattern: '^[a-z0-9-]+(,[a-z0-9-]+)*$', description: 'comma-separated device ids' });
export const splitIds = (s?: string): string[] | undefined => (s ? s.split(',').filter(Boolean) : undefined);

export const ErrorBody = Type.Object({ statusCode: Type.Integer(), code: Type.String(), error: Type.String(), message: Type.String() }, { description: 'error (4xx: the reason; 5xx: never details)' });
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ErrorBody]));
export const RoleSchema = OneOf(ROLES);
export const Ok = Type.Object({ ok: Type.Boolean() });
