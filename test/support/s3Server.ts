// The loopback S3 server lives in tools/ so that `npm run s3` and the tests share one.
export * from "../../tools/s3Server";
