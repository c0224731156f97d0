"""Gets a client-credentials token from Tessera with Authlib or requests-oauthlib, default settings.

Reads one JSON object from argv[1]: lib (authlib | requests-oauthlib), method, token_endpoint,
client_id, secret (client secret, or the PEM private key for private_key_jwt), scope (optional).
Prints one JSON object: the token response, or {"error": ..., "status": ...}.
"""
import json
import sys

import requests


def authlib_token(cfg):
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT

    endpoint = cfg["token_endpoint"]
    method = cfg["method"]
    if method == "client_secret_jwt":
        auth_method = ClientSecretJWT(endpoint)
    elif method == "private_key_jwt":
        auth_method = PrivateKeyJWT(endpoint)
    else:
        auth_method = method
    session = OAuth2Session(cfg["client_id"], cfg["secret"], token_endpoint_auth_method=auth_method, scope=cfg.get("scope"))
    return session.fetch_token(endpoint, grant_type="client_credentials")


def requests_oauthlib_token(cfg):
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client=BackendApplicationClient(client_id=cfg["client_id"]), scope=cfg.get("scope"))
    if cfg["method"] == "client_secret_post":
        return session.fetch_token(cfg["token_endpoint"], client_id=cfg["client_id"], client_secret=cfg["secret"], include_client_id=True)
    return session.fetch_token(cfg["token_endpoint"], client_id=cfg["client_id"], client_secret=cfg["secret"])


def main():
    cfg = json.loads(sys.argv[1])
    try:
        token = authlib_token(cfg) if cfg["lib"] == "authlib" else requests_oauthlib_token(cfg)
        token = dict(token)
        if isinstance(token.get("scope"), list):  # oauthlib hands the scope back as a list
            token["scope"] = " ".join(token["scope"])
        print(json.dumps(token))
    except Exception as err:  # the test reads the failure
        response = getattr(err, "response", None)
        print(json.dumps({"error": type(err).__name__, "detail": str(err), "status": getattr(response, "status_code", None)}))


if __name__ == "__main__":
    main()
