/**
 * An automated reviewer, for measuring review on the real teacher (issue 20 item 4): acts as a
 * person on the review page, through the same local server and HTTP API the page uses
 * (scripts/review/server.ts), for every round of run <runId> that waits for a review, until the
 * run finishes:
 *
 *   node --import tsx scripts/dev/auto-review.ts <runId> --rule reference [--train-on validation|train]
 *        [--url http://127.0.0.1:PORT/] [--address host:port] [--namespace ns] [--by name]
 *
 * Rule `reference` (scripts/review/rules.ts): rejects the examples whose label the label-agreement
 * reference (quality/labelAgreement.ts fitReference, fitted on the run's gold validation set, or
 * its gold train split with --train-on train; never test) disagrees with, approves the rest.
 * The run must review each round (`s3 review <runId> --mode each-round`). Without --url it starts
 * its own review server on 127.0.0.1 with a Temporal client of --address.
 *
 * Logs one line per round to stderr (examples shown, rejected, seconds) and prints a JSON
 * summary (AutoReviewSummary, scripts/review/auto.ts) to stdout.
 */
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } from '../../workers/options.js';
import { autoReview } from '../review/auto.js';
import { ReviewApi } from '../review/client.js';
import { REVIEW_RULES, type ReviewRule } from '../review/rules.js';
import { startReviewServer, temporalBackend } from '../review/server.js';

const program = new Command('auto-review')
  .argument('<runId>', 'the workflow id of the run (as `s3 review <id>` takes it)')
  .requiredOption('--rule <rule>', `decision rule: ${REVIEW_RULES.join(', ')}`)
  .option('--train-on <split>', 'the reference’s gold data: validation or train (the run’s train split)', 'validation')
  .option('--url <url>', 'a review server already serving this run (else one is started here)')
  .option('--address <host:port>', 'Temporal frontend', TEMPORAL_ADDRESS)
  .option('--namespace <ns>', 'Temporal namespace', TEMPORAL_NAMESPACE)
  .option('--by <name>', 'the reviewer’s name recorded with each review', 'auto-review')
  .option('--poll-ms <ms>', 'how often to ask while the run runs', Number, 500)
  .action(
    async (
      runId: string,
      o: {
        rule: string;
        trainOn: string;
        url?: string;
        address: string;
        namespace: string;
        by: string;
        pollMs: number;
      },
    ) => {
      if (!(REVIEW_RULES as readonly string[]).includes(o.rule))
        program.error(`--rule must be one of ${REVIEW_RULES.join(', ')}, got ${o.rule}`);
      if (o.trainOn !== 'validation' && o.trainOn !== 'train')
        program.error(`--train-on must be validation or train, got ${o.trainOn}`);
      let close = async () => {};
      let url = o.url;
      if (!url) {
        const connection = await Connection.connect({ address: o.address });
        const client = new Client({ connection, namespace: o.namespace });
        const server = await startReviewServer({
          backend: temporalBackend(client.workflow.getHandle(runId)),
          workflowId: runId,
          by: o.by,
        });
        url = server.url;
        close = async () => {
          await server.close();
          await connection.close();
        };
        console.error(`auto-review: review server ${url}`);
      }
      try {
        const summary = await autoReview({
          api: new ReviewApi(url),
          rule: o.rule as ReviewRule,
          trainOn: o.trainOn as 'validation' | 'train',
          by: o.by,
          pollMs: o.pollMs,
          log: (line) => console.error(`auto-review: ${line}`),
        });
        console.log(JSON.stringify(summary, null, 2));
      } finally {
        await close();
      }
    },
  );

await program.parseAsync();
