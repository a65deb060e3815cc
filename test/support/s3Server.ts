// The loopback S3 server lives in tools/ so that `npm run s3` and the tests share one.
import { S3RVER_CREDENTIALS } from "../../tools/s3Server";

export * from "../../tools/s3Server";

/**
 * Puts s3rver's credentials into `process.env` (the SDK's default credential chain, as CLIs in
 * this process use it, reads them there); the returned function restores what was there.
 */
export function useS3rverCredentials(): () => void {
  const saved = {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
  };
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
