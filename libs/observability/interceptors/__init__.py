"""What observability's hooks share with the call edge (libs/edge): target and metadata
helpers. The call shapes themselves are known only to libs/edge."""
