import { createHash } from 'node:crypto';
import { AspectPriority, Aspects, CfnElement, CfnResource, type IAspect, Names, Stack } from 'aws-cdk-lib';
import { CfnDeployment } from 'aws-cdk-lib/aws-apigateway';
import { Construct, type IConstruct } from 'constructs';

/**
 * A part of the {@link AuditTrail} construct (storage, ingest, functions, jobs, API, alarms): a
 * grouping that exists for the code, not for CloudFormation. Its id is left out of the logical ids
 * and generated names of what it holds ({@link keepLogicalIds}), so every resource keeps the id it
 * had as a direct child of the AuditTrail construct, whichever part holds it today or tomorrow, and
 * moving code between parts never makes CloudFormation replace a table, a bucket or a queue.
 * test/infra/fixtures/stateful-logical-ids.json records the ids that must never change.
 */
export class Part extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // An aspect, so resources added to a part later (an event source, a permission) keep theirs too.
    Aspects.of(this).add(keepLogicalIds, { priority: AspectPriority.MUTATING });
  }
}

/**
 * Gives every CloudFormation element (resources, the API's URL output) its {@link keptLogicalId}. API Gateway deployments are left
 * alone: CDK names them by a hash of the API, so they are replaced whenever the API changes anyway.
 * Two resources that would share an id fail synthesis (CDK refuses a duplicate logical id).
 */
const keepLogicalIds: IAspect = {
  visit: (node) => {
    if (CfnElement.isCfnElement(node) && !(node instanceof CfnDeployment))
      node.overrideLogicalId(keptLogicalId(node));
  },
};

// CDK's own logical-id algorithm (aws-cdk-lib core/lib/private/uniqueid.ts, not exported). CDK
// cannot ever change it without replacing every deployed resource; the fixture test would notice.
const HIDDEN_ID = 'Default';
const HIDDEN_FROM_HUMAN_ID = 'Resource';
const alphanumeric = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');
const makeUniqueId = (path: readonly string[]): string => {
  const components = path.filter((component) => component !== HIDDEN_ID);
  if (components.length === 0) throw new Error('A unique id needs at least one path component');
  const single = components.length === 1 ? alphanumeric(components[0] ?? '') : undefined;
  if (single !== undefined && single.length <= 255) return single;
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const component of components) {
    const last = human[human.length - 1];
    if (last === undefined || !last.endsWith(component)) human.push(component);
  }
  return (
    human
      .filter((component) => component !== HIDDEN_FROM_HUMAN_ID)
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
};

/** Ids of the scopes from `from` (exclusive) down to `construct`, leaving parts out. */
const pathWithoutParts = (construct: IConstruct, from: IConstruct | undefined): string[] => {
  const scopes = construct.node.scopes;
  const start = from ? scopes.indexOf(from) + 1 : 1;
  return scopes
    .slice(start)
    .filter((scope) => !(scope instanceof Part))
    .map((scope) => scope.node.id);
};

/** Per stack, the constructs registered with {@link keepEmbeddedIds}. */
const embeddable = new WeakMap<Stack, IConstruct[]>();

/**
 * Registers constructs whose `Names.nodeUniqueId` CDK embeds in the construct ids of others: the
 * API's in its Lambda permissions, a function's in the fallback's API-wide permission, the
 * authorizer's in its permission, the queue's in the event source mapping (which must keep its id:
 * Lambda refuses a second mapping of the same queue to the same function, so one created under a
 * new id before the old is deleted would fail the deployment). Their embedded ids count as they
 * would without parts.
 */
export const keepEmbeddedIds = (...constructs: IConstruct[]): void => {
  for (const construct of constructs) {
    const stack = Stack.of(construct);
    embeddable.set(stack, [...(embeddable.get(stack) ?? []), construct]);
  }
};

/** The logical id `element` keeps: the one it would have without the parts in its path. */
export const keptLogicalId = (element: CfnElement): string => {
  const stack = Stack.of(element);
  let path = pathWithoutParts(element, stack);
  for (const construct of embeddable.get(stack) ?? []) {
    const current = Names.nodeUniqueId(construct.node);
    const kept = makeUniqueId(pathWithoutParts(construct, undefined));
    if (current !== kept) path = path.map((id) => id.split(current).join(kept));
  }
  return makeUniqueId(path);
};

/** The logical id of an L2 construct's CloudFormation resource, as the template will have it. */
export const logicalIdOf = (construct: IConstruct): string => {
  const cfn = construct.node.defaultChild;
  if (!cfn || !CfnResource.isCfnResource(cfn))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return keptLogicalId(cfn);
};

/**
 * The name `Names.uniqueId` would give a child `id` of `scope` without the parts in its path, for
 * resources whose generated physical name derives from the construct path (the event bus).
 */
export const keptUniqueName = (scope: IConstruct, id: string): string =>
  makeUniqueId([...pathWithoutParts(scope, undefined), id]);
