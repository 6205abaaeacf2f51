"""Create the bucket, its CORS rule, its lifecycle rules, the SQS queue and the S3 → SQS notification.

For local stacks (docker-compose's one-shot ``init`` service, the test
suite) against an S3-compatible server; on AWS, ``template.yaml`` does the
same with CloudFormation. Idempotent: running it twice changes nothing.
Django-free; configuration from boto3's own variables (``AWS_ENDPOINT_URL``,
``AWS_DEFAULT_REGION``, credentials)::

    python -m realtime_uploads.processing.provision --bucket uploads --queue uploads-events \\
        --origin http://localhost:8000
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from realtime_uploads.core.s3_client import LIFECYCLE_TAG


def lifecycle_rules(*, key_prefix: str = "uploads/", pending_days: int = 1) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules, as ``template.yaml`` has them: what S3 expires by itself.

    Originals are tagged ``pending`` by the presigned POST and re-tagged
    ``completed`` by the processor, so an original still ``pending`` after
    ``pending_days`` days never completed (never processed, failed, expired or
    cancelled) and S3 deletes it even if no ``cleanup_uploads`` runs; and
    incomplete multipart uploads are aborted after a day. Whether a completed
    upload is still referenced is the database's to say (``cleanup_uploads``).
    S3 counts days from the object's creation, rounded to the next midnight UTC
    (docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
    """
    return [
        {"ID": "expire-never-processed-uploads", "Status": "Enabled",
         "Filter": {"And": {"Prefix": key_prefix, "Tags": [{"Key": LIFECYCLE_TAG, "Value": "pending"}]}},
         "Expiration": {"Days": pending_days}},
        {"ID": "abort-incomplete-multipart", "Status": "Enabled", "Filter": {"Prefix": ""},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]


def provision(*, bucket: str, queue: str, origins: list[str], key_prefix: str = "uploads/",
              session: Any = None, addressing_style: str = "path", pending_days: int = 1) -> str:
    """Create (or keep) everything; return the queue URL.

    The CORS rule lets ``origins`` POST (and GET variants) from the browser,
    exposing ``ETag``; the lifecycle rules are :func:`lifecycle_rules`
    (``pending_days``: days before an original that never completed is
    expired); the notification sends ``s3:ObjectCreated:*`` under
    ``key_prefix`` to the queue, whose policy admits only this bucket.
    """
    session = session or boto3.session.Session()
    s3 = session.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": addressing_style}))
    sqs = session.client("sqs")
    try:
        region = session.region_name
        kwargs = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": origins, "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={
        "Rules": lifecycle_rules(key_prefix=key_prefix, pending_days=pending_days)})
    queue_url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}}}],
    })})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": key_prefix}]}}}]})
    return queue_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime_uploads.processing.provision",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--origin", action="append", required=True, help="browser origin allowed to POST (repeat)")
    parser.add_argument("--key-prefix", default="uploads/")
    parser.add_argument("--pending-days", type=int, default=1,
                        help="days before S3 deletes an original that never completed (default 1)")
    args = parser.parse_args(argv)
    print(provision(bucket=args.bucket, queue=args.queue, origins=args.origin, key_prefix=args.key_prefix,
                    pending_days=args.pending_days))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
