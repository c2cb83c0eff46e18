import type { Command } from 'commander';
import { registerCredentialsCommands } from './credentials.ts';
import { registerDeadLetterCommand } from './dead-letters.ts';
import { registerDemoCommand } from './demo.ts';
import { registerEndpointCommands } from './endpoints.ts';
import { registerFunctionCommands } from './functions.ts';
import { registerModelCommands } from './models.ts';
import { registerMonitoringCommands } from './monitoring.ts';
import { registerProjectCommands } from './project.ts';
import { registerReportCommand } from './report.ts';
import { registerResultCommands } from './results.ts';
import { registerTokenCommands } from './tokens.ts';
import { registerUpCommand } from './up.ts';
import { registerWindowCommands } from './windows.ts';
import { registerWorkerCommand } from './worker.ts';

/**
 * Every command group, in the order `--help` lists them. To add a command (`report`,
 * `alerts`, `backfill`, ...), write `./<group>.ts` exporting `register<Group>Command(s)(program)`
 * and add it here.
 */
export function registerCommands(program: Command): void {
  registerUpCommand(program);
  registerDemoCommand(program);
  registerReportCommand(program);
  registerProjectCommands(program);
  registerMonitoringCommands(program);
  registerFunctionCommands(program);
  registerCredentialsCommands(program);
  registerTokenCommands(program);
  registerModelCommands(program);
  registerEndpointCommands(program);
  registerResultCommands(program);
  registerWindowCommands(program);
  registerDeadLetterCommand(program);
  registerWorkerCommand(program);
}
