/**
 * API errors: every error a client sees has an HTTP status and a stable code from the one table
 * (lib/error-codes.ts, `E_<AREA>_<WHAT>`). 5xx text never leaves the server.
 */
import { API_ERROR_CODES, type ApiErrorCode } from '../../../lib/error-codes';

export type { ApiErrorCode };

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An error with its code's usual status (the table's). */
export const apiError = (code: ApiErrorCode, message: string) => new ApiError(API_ERROR_CODES[code], code, message);
export const badRequest = (code: ApiErrorCode, message: string) => new ApiError(400, code, message);
export const unauthorized = (message = 'authentication required') => new ApiError(401, 'E_AUTH_REQUIRED', message);
export const forbidden = (message = 'your role may not use this route') => new ApiError(403, 'E_AUTH_FORBIDDEN', message);
export const notFound = (code: ApiErrorCode, message: string) => new ApiError(404, code, message);
export const conflict = (code: ApiErrorCode, message: string) => new ApiError(409, code, message);
