"""Auditors' tools: export an application's histories, replay them against today's code, read
the decision trail. They work from Temporal's own record, not from what the workflow code says
about itself today.

- `audit.histories`: fetch an application's histories (the parent and every child, followed
  through the history, also across continue-as-new) or load them from files;
- `audit.export`: write them as JSON in the format `temporal workflow show --output json` and
  the Web UI download produce, plus a `manifest.json` naming the workflow ID of each file;
- `audit.replay`: run them through `temporalio.worker.Replayer` with the workflows and runner
  the caller gives (the production ones: `worker.WORKFLOWS`, `worker.workflow_runner()`) and
  the production data converter, and report per history "replays cleanly" or the divergence;
- `audit.trail`: every acceptance, correction, refusal, decision, supplement, inspection,
  extension, excluded time, escalation, referral and revocation, with actor, role, time, rule
  (catalog version and item code) and reason; its rows in `audit.rows`, what the activities
  say in `audit.trail_steps`, the row kinds in `audit.kinds`, the activity and update names
  it recognises in `audit.names`, payload reading in `audit.payloads`.

Only staff IDs, roles, codes and staff-written reasons are taken from payloads, never the
applicant's personal data. The command line over it: `onething audit` (`starter.cli_audit`).
"""
