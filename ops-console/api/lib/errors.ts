/** API errors: every error a client sees has an HTTP status and a stable code. 5xx text never leaves the server. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const unauthorized = (message = 'authentication required') => new ApiError(401, 'E_UNAUTHORIZED', message);
export const forbidden = (message = 'your role may not use this route') => new ApiError(403, 'E_FORBIDDEN', message);
export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
