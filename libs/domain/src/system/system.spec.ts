import { SystemCreated, SystemVersionCreated } from '@assay/contracts';
import { deciderSpec } from '@assay/testing';
import { configHash, systemDecider, systemNameStreamId } from './system';

const spec = deciderSpec(systemDecider);
const created: SystemCreated = { type: 'SystemCreated', data: { systemId: 's1', projectId: 'p1', name: 'bot', description: '' } };
const prompt = { messages: [{ role: 'user', content: 'Answer {{ inputs.question }}' }], modelName: 'gpt-4o-mini', temperature: 0.2, maxTokens: 256, topP: 1 };
const v1: SystemVersionCreated = { type: 'SystemVersionCreated', data: { systemId: 's1', versionId: 'v-1', name: 'v1', config: prompt, configHash: configHash(prompt) } };

describe('system decider', () => {
  it('creates a system', () => spec.given([]).when({ type: 'CreateSystem', systemId: 's1', projectId: 'p1', name: ' bot ' }).then([created]));

  it('reserves names per project, case-insensitively', () => {
    expect(systemNameStreamId('p1', 'Bot ')).toBe(systemNameStreamId('p1', 'bot'));
    expect(systemNameStreamId('p1', 'bot')).not.toBe(systemNameStreamId('p2', 'bot'));
  });

  it('creates a version, named v<n> by default', () =>
    spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-1', config: prompt }).then([v1]));

  it('a config equal to an existing version (keys in any order) creates nothing', () => {
    const reordered = { topP: 1, maxTokens: 256, temperature: 0.2, modelName: 'gpt-4o-mini', messages: [{ content: 'Answer {{ inputs.question }}', role: 'user' }] };
    spec.given([created, v1]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', name: 'other', config: reordered }).then([]);
  });

  it('refuses a second version with a taken name and another config', () =>
    spec.given([created, v1]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', name: 'v1', config: { ...prompt, temperature: 1 } }).thenThrows('SYSTEM_VERSION_NAME_TAKEN'));

  it('validates a prompt config', () => {
    for (const config of [
      { messages: [], modelName: 'm' },
      { messages: [{ role: 'robot', content: 'x' }], modelName: 'm' },
      { messages: [{ role: 'user', content: 1 }], modelName: 'm' },
      { messages: [{ role: 'user', content: 'x' }] },
      { messages: [{ role: 'user', content: 'x' }], modelName: 'm', temperature: 3 },
      { messages: [{ role: 'user', content: 'x' }], modelName: 'm', maxTokens: 1.5 },
      { messages: [{ role: 'user', content: 'x' }], modelName: 'm', topP: -0.1 },
      'not an object',
    ]) {
      spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', config }).thenThrows('SYSTEM_CONFIG_INVALID');
    }
    // Without messages, any object is a config.
    expect(spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', config: { endpoint: 'http://x' } }).result()).toHaveLength(1);
  });

  it('checks message templates: they must parse (line and column) and use only inputs', () => {
    let error: any;
    try {
      spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', config: { ...prompt, messages: [{ role: 'system', content: 'ok' }, { role: 'user', content: 'Q:\n{{ inputs.question ' }] } }).result();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'TEMPLATE_INVALID', details: { field: 'config.messages[1].content', line: expect.any(Number), column: expect.any(Number) } });
    spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', config: { ...prompt, messages: [{ role: 'user', content: '{{ expected.answer }}' }] } }).thenThrows('TEMPLATE_INVALID');
    const loops = '{% for k, v in inputs %}{{ k }}: {{ v }}\n{% endfor %}{% if inputs.context %}Context: {{ inputs.context }}{% endif %}';
    expect(spec.given([created]).when({ type: 'CreateSystemVersion', systemId: 's1', versionId: 'v-2', config: { ...prompt, messages: [{ role: 'user', content: loops }] } }).result()).toHaveLength(1);
  });

  it('sets the production version to a version of the system only', () => {
    spec.given([created, v1]).when({ type: 'SetProductionVersion', systemId: 's1', versionId: 'v-1' }).then([{ type: 'ProductionVersionSet', data: { systemId: 's1', versionId: 'v-1' } }]);
    spec
      .given([created, v1, { type: 'ProductionVersionSet', data: { systemId: 's1', versionId: 'v-1' } }])
      .when({ type: 'SetProductionVersion', systemId: 's1', versionId: 'v-1' })
      .then([]);
    spec.given([created, v1]).when({ type: 'SetProductionVersion', systemId: 's1', versionId: 'nope' }).thenThrows('SYSTEM_VERSION_NOT_FOUND');
    spec.given([]).when({ type: 'SetProductionVersion', systemId: 's1', versionId: 'v-1' }).thenThrows('SYSTEM_NOT_FOUND');
  });
});
