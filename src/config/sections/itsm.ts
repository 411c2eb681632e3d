// Configuration of the ticket platforms (ServiceNow, Jira, the local desk).
import { z } from 'zod';

export const itsmSection = z
  .object({
    default_platform: z.enum(['local', 'servicenow', 'jira']).default('local'),
  })
  .strict()
  .prefault({});
