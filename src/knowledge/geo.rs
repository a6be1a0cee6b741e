//! Distances between points on the globe.

/// Mean Earth radius used by the haversine formula.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance in kilometres (haversine). Flight routes are longer in practice,
/// but the straight line is what fare estimates are scaled from.
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::find_airport;

    #[test]
    fn lax_to_narita_is_about_8750_km() {
        let (lax, nrt) = (find_airport("LAX").unwrap(), find_airport("NRT").unwrap());
        let km = great_circle_km(lax.lat, lax.lon, nrt.lat, nrt.lon);
        assert!((km - 8750.0).abs() < 87.5, "{km}");
    }

    #[test]
    fn distance_is_zero_for_same_point_and_symmetric() {
        assert_eq!(great_circle_km(21.0, 105.8, 21.0, 105.8), 0.0);
        let there = great_circle_km(48.85, 2.35, 51.5, -0.12);
        let back = great_circle_km(51.5, -0.12, 48.85, 2.35);
        assert!((there - back).abs() < 1e-9);
        assert!((there - 344.0).abs() < 5.0, "{there}");
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let km = great_circle_km(0.0, 0.0, 0.0, 180.0);
        assert!((km - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
    }
}
