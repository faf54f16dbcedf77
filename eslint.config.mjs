// Module boundaries as in getlarge/ticketing: projects are tagged by scope and type, and lint
// refuses an import that crosses a boundary (a library importing a service, a domain importing I/O).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', 'tmp/**', '.assay-data/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          // The all-in-one process composes the services' modules; nothing else imports a service.
          allow: ['@assay/gateway-service', '@assay/runs-service', '@assay/scoring-service'],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing'] },
            { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:contracts', 'type:data', 'type:testing'] },
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:data', 'type:feature', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:data', 'type:testing'] },
            { sourceTag: 'type:composition', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:data', 'type:feature'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:data', 'type:feature', 'type:composition', 'type:testing'] },
            // The all-in-one process composes the services' modules; nothing else may import a service.
            { sourceTag: 'type:launcher', onlyDependOnLibsWithTags: ['type:app', 'type:contracts', 'type:domain', 'type:data', 'type:feature', 'type:composition'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing', 'type:data', 'type:feature', 'type:domain', 'type:app', 'type:launcher'] },
          ],
        },
      ],
    },
  },
];
