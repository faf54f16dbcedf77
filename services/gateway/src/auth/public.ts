import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'assay:public';

/** Marks a route (or a controller) as open to callers without an API key: the health checks only. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
