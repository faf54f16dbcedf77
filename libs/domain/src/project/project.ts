import { AssayError, ProjectCreated } from '@assay/contracts';
import type { Decider } from '../decider/decider';

export const projectStreamId = (projectId: string) => `project-${projectId}`;

export interface CreateProject {
  readonly type: 'CreateProject';
  readonly projectId: string;
  readonly name: string;
}

export type ProjectEvent = ProjectCreated;
export type ProjectState = { readonly exists: false } | { readonly exists: true; readonly projectId: string; readonly name: string };

export const projectDecider: Decider<CreateProject, ProjectState, ProjectEvent> = {
  initialState: () => ({ exists: false }),
  decide(command, state) {
    if (state.exists) throw new AssayError('BAD_USER_INPUT', `Project ${command.projectId} already exists.`);
    const name = command.name.trim();
    if (!name) throw new AssayError('BAD_USER_INPUT', 'A project needs a name.');
    return [{ type: 'ProjectCreated', data: { projectId: command.projectId, name } }];
  },
  evolve(_state, event) {
    return { exists: true, projectId: event.data.projectId, name: event.data.name };
  },
};
