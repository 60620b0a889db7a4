import json, sys, boto3
endpoint, action, name = sys.argv[1:4]
ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
if action == "create":
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
else:
    repository, tag = name.split("/", 1)[1].rsplit(":", 1)
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": 1, "digest": "sha256:" + "0" * 64},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": 1, "digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64]}]}
    ecr.put_image(repositoryName=repository, imageTag=tag, imageManifest=json.dumps(manifest))
