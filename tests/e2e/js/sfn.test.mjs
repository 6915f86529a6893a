// The AWS SDK for JavaScript v3 (`@aws-sdk/client-sfn`) against a real `sluice serve`:
// run by tests/e2e/test_stepfunctions_js.py, which starts the server and passes its endpoint and
// a key in SLUICE_ENDPOINT, SLUICE_KEY_ID and SLUICE_KEY_SECRET. Requests are signed with
// Signature Version 4 by the SDK.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SFNClient,
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  DescribeExecutionCommand,
  StopExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartSyncExecutionCommand,
  ExecutionDoesNotExist,
  StateMachineDoesNotExist,
} from "@aws-sdk/client-sfn";

const sfn = new SFNClient({
  endpoint: process.env.SLUICE_ENDPOINT,
  region: "eu-central-1",
  credentials: { accessKeyId: process.env.SLUICE_KEY_ID, secretAccessKey: process.env.SLUICE_KEY_SECRET },
  // StartSyncExecution would go to `sync-127.0.0.1` otherwise (docs/stepfunctions.md).
  disableHostPrefix: true,
  maxAttempts: 1,
});
const ROLE = "arn:aws:iam::123456789012:role/js-e2e";
const unique = (prefix) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

async function finished(executionArn) {
  for (let i = 0; i < 500; i++) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== "RUNNING") return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${executionArn} did not finish`);
}

test("a state machine is created, described and listed", async () => {
  const name = unique("js-machine");
  const definition = JSON.stringify({ StartAt: "Hello", States: { Hello: { Type: "Pass", Result: { hi: 1 }, End: true } } });
  const created = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE }));
  assert.match(created.stateMachineArn, new RegExp(`^arn:aws:states:eu-central-1:\\d+:stateMachine:${name}$`));
  assert.ok(created.creationDate instanceof Date);
  const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }));
  assert.equal(described.name, name);
  assert.equal(described.definition, definition);
  assert.equal(described.type, "STANDARD");
  let found = false;
  let nextToken;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken, maxResults: 100 }));
    found ||= page.stateMachines.some((m) => m.stateMachineArn === created.stateMachineArn);
    nextToken = page.nextToken;
  } while (nextToken && !found);
  assert.ok(found, "the state machine is listed");
});

test("an execution runs to its output and its history is AWS's", async () => {
  const definition = JSON.stringify({ StartAt: "Hello", States: { Hello: { Type: "Pass", Result: { hi: 1 }, End: true } } });
  const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({ name: unique("js-run"), definition, roleArn: ROLE }));
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: "run-1", input: '{"a": 1}' }));
  assert.ok(started.startDate instanceof Date);
  const done = await finished(started.executionArn);
  assert.equal(done.status, "SUCCEEDED");
  assert.deepEqual(JSON.parse(done.output), { hi: 1 });
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
  assert.deepEqual(history.events.map((e) => e.type), ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]);
  assert.deepEqual(history.events.map((e) => e.id), [1, 2, 3, 4]);
  assert.ok(history.events[0].timestamp instanceof Date);
  assert.deepEqual(JSON.parse(history.events[0].executionStartedEventDetails.input), { a: 1 });
});

test("a stop aborts a waiting execution at once", async () => {
  const definition = JSON.stringify({ StartAt: "Pause", States: { Pause: { Type: "Wait", Seconds: 300, End: true } } });
  const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({ name: unique("js-stop"), definition, roleArn: ROLE }));
  const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
  const stopped = await sfn.send(new StopExecutionCommand({ executionArn, error: "Operator.Halt", cause: "from node" }));
  assert.ok(stopped.stopDate instanceof Date);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  assert.deepEqual([described.status, described.error, described.cause], ["ABORTED", "Operator.Halt", "from node"]);
  const reversed = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }));
  assert.equal(reversed.events[0].type, "ExecutionAborted");
  assert.ok(reversed.nextToken);
  const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: "ABORTED" }));
  assert.deepEqual(aborted.executions.map((e) => e.executionArn), [executionArn]);
});

test("an Express machine runs synchronously", async () => {
  const definition = JSON.stringify({ StartAt: "Echo", States: { Echo: { Type: "Pass", End: true } } });
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({ name: unique("js-express"), definition, roleArn: ROLE, type: "EXPRESS" }));
  const done = await sfn.send(new StartSyncExecutionCommand({ stateMachineArn, input: '{"n": 3}' }));
  assert.equal(done.status, "SUCCEEDED");
  assert.deepEqual(JSON.parse(done.output), { n: 3 });
  assert.equal(done.billingDetails.billedMemoryUsedInMB, 64);
});

test("errors are the SDK's typed exceptions", async () => {
  const missing = "arn:aws:states:eu-central-1:100000000001:stateMachine:nothing-here";
  await assert.rejects(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: missing })), StateMachineDoesNotExist);
  const { stateMachineArn } = await sfn.send(new CreateStateMachineCommand({
    name: unique("js-errors"), roleArn: ROLE,
    definition: JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } }) }));
  const execution = stateMachineArn.replace(":stateMachine:", ":execution:") + ":nobody";
  await assert.rejects(sfn.send(new DescribeExecutionCommand({ executionArn: execution })), ExecutionDoesNotExist);
});
