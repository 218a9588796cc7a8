// Small helpers over the API server's answers, shared by the e2e suites.
import { ApiException } from '@kubernetes/client-node';

/** The API server's error for a rejected write: status code and message. */
export async function rejection(write: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await write;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
      return { code: e.code, message: body.message ?? '' };
    }
    throw e;
  }
  throw new Error('the write was accepted, expected a rejection');
}
