// Configuration of inbound authentication on the HTTP transport.
import { z } from 'zod';

export const authSection = z
  .object({
    mode: z.enum(['none']).default('none'),
  })
  .strict()
  .prefault({});
