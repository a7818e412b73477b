/* The local frame of the synthetic sensors: x east, y north, in metres from
 * a fixed origin, and its conversion to GPS latitude and longitude. Shared by
 * sensor_source (which makes GPS fixes) and fuse (which turns them back into
 * metres). Private to the built-in blocks.
 *
 * Equirectangular projection around the origin (lat0, lon0), exact enough
 * within a few kilometres:
 *   lat = lat0 + y / GEO_M_PER_DEG_LAT
 *   lon = lon0 + x / (GEO_M_PER_DEG_LAT * cos(lat0 * pi / 180))
 * and its exact inverse
 *   y = (lat - lat0) * GEO_M_PER_DEG_LAT
 *   x = (lon - lon0) * GEO_M_PER_DEG_LAT * cos(lat0 * pi / 180) */
#ifndef MQS_BLOCKS_GEO_H
#define MQS_BLOCKS_GEO_H

#include <math.h>

#define GEO_LAT0 48.8584 /* degrees: the default origin, any fixed point will do */
#define GEO_LON0 2.2945
#define GEO_ALT0 35.0 /* metres */
#define GEO_M_PER_DEG_LAT 111320.0

static inline double geo_m_per_deg_lon(double lat0) { return GEO_M_PER_DEG_LAT * cos(lat0 * M_PI / 180); }

static inline void geo_from_local(double lat0, double lon0, double x, double y, double *lat, double *lon)
{
    *lat = lat0 + y / GEO_M_PER_DEG_LAT;
    *lon = lon0 + x / geo_m_per_deg_lon(lat0);
}

static inline void geo_to_local(double lat0, double lon0, double lat, double lon, double *x, double *y)
{
    *x = (lon - lon0) * geo_m_per_deg_lon(lat0);
    *y = (lat - lat0) * GEO_M_PER_DEG_LAT;
}

#endif
