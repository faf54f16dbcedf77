export interface SystemView {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly productionVersionId: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface SystemVersionView {
  readonly id: string;
  readonly systemId: string;
  readonly projectId: string;
  readonly name: string;
  readonly config: unknown;
  /** 1 for the system's first version. */
  readonly number: number;
  readonly createdAt: Date;
}

export interface CreateSystemInput {
  readonly projectId: string;
  readonly name: string;
  readonly description?: string | null;
}

export interface CreateSystemVersionInput {
  readonly systemId: string;
  readonly name?: string | null;
  readonly config: unknown;
}

export interface SystemCommandsApi {
  createSystem(input: CreateSystemInput): Promise<SystemView>;
  /** A config equal (as canonical JSON) to an existing version's returns that version. */
  createSystemVersion(input: CreateSystemVersionInput): Promise<SystemVersionView>;
  setProductionVersion(systemId: string, versionId: string): Promise<SystemView>;
}

export interface SystemQueriesApi {
  getSystem(id: string): Promise<SystemView | null>;
  listSystems(projectId: string): Promise<SystemView[]>;
  getSystemVersion(id: string): Promise<SystemVersionView | null>;
  /** Oldest first. */
  listSystemVersions(systemId: string): Promise<SystemVersionView[]>;
}

export interface SystemsApi {
  readonly commands: SystemCommandsApi;
  readonly queries: SystemQueriesApi;
}
