// Configuration of the crawler, embedders and search stores.
import { z } from 'zod';

export const knowledgeSection = z.object({}).strict().prefault({});
