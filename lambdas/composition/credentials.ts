import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

let provider: AwsCredentialIdentityProvider | undefined;

/**
 * The container's AWS credentials: the SDK's default provider chain (in Lambda, the function
 * role's credentials from the environment), one instance shared by every client and signer, so
 * each refreshes from the same cache. The SDK clients bundle this chain already: sharing it costs
 * no bundle bytes.
 */
export const awsCredentials = (): AwsCredentialIdentityProvider => {
  provider ??= defaultProvider();
  return provider;
};
