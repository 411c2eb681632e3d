// The ServiceNow fake lives under src/ so the bench (run from dist/) shares it.
export { ServiceNowFake, type ServiceNowFakeOptions, type SnRecord } from '../../src/providers/itsm/fakes/servicenow-fake.js';
export type { Fault } from '../../src/providers/itsm/fakes/fake-http.js';
