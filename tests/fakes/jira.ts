// The Jira fake lives under src/ so tests and the bench share one implementation.
import { resolve } from 'node:path';
export { JiraFake, adfProblems, type JiraFakeOptions } from '../../src/providers/itsm/fakes/jira-fake.js';

/** Atlassian's OpenAPI, read from ../shared (never copied into the project). */
export const JIRA_OPENAPI_PATH = resolve(process.cwd(), '..', 'shared', 'reference', 'specs', 'jira-cloud-platform-openapi-2022.json');
