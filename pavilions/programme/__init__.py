"""The publicity week's programme: themed days, the cloud class of works, knowledge contests, the live broadcast
and the visitor statistics. Each part has its models, services and views; `MODULES` lists the view modules that
create_app registers (each defines `bp`, its pages, and `api`, its JSON routes under /api/v1)."""

MODULES = ("days_views", "works_views", "contests_views", "live_views", "stats_views")
