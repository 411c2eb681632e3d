// Configuration of IRIS instances, the CPF parameter catalog and approval policy.
import { z } from 'zod';

export const remediationSection = z.object({}).strict().prefault({});
