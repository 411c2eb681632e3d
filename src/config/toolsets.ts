// The toolsets every tool belongs to, named once: tools.enabled_toolsets, auth scopes and tool
// definitions all refer to this list.
import { z } from 'zod';

export const TOOLSETS = ['itsm', 'knowledge', 'jobs', 'remediation'] as const;
export type Toolset = (typeof TOOLSETS)[number];

export const toolsetSchema = z.enum(TOOLSETS);
