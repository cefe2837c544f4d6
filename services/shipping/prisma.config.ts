import { servicePrismaConfig } from '@shoplab/chassis/prisma-config';

export default servicePrismaConfig();
