// ISO 3166-1 alpha-2 countries (+ XK) with GeoNames continents and approximate centroids, used when a GeoIP database gives only a country.

export type Continent = 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA'

export interface CountryInfo {
  readonly name: string
  readonly continent: Continent
  readonly latitude: number
  readonly longitude: number
}

// code|name|continent|latitude|longitude, one country a line.
const DATA = `
AD|Andorra|EU|42.55|1.60
AE|United Arab Emirates|AS|23.42|53.85
AF|Afghanistan|AS|33.94|67.71
AG|Antigua and Barbuda|NA|17.06|-61.80
AI|Anguilla|NA|18.22|-63.07
AL|Albania|EU|41.15|20.17
AM|Armenia|AS|40.07|45.04
AO|Angola|AF|-11.20|17.87
AQ|Antarctica|AN|-75.25|-0.07
AR|Argentina|SA|-38.42|-63.62
AS|American Samoa|OC|-14.27|-170.13
AT|Austria|EU|47.52|14.55
AU|Australia|OC|-25.27|133.78
AW|Aruba|NA|12.52|-69.97
AX|Åland Islands|EU|60.18|19.92
AZ|Azerbaijan|AS|40.14|47.58
BA|Bosnia and Herzegovina|EU|43.92|17.68
BB|Barbados|NA|13.19|-59.54
BD|Bangladesh|AS|23.68|90.36
BE|Belgium|EU|50.50|4.47
BF|Burkina Faso|AF|12.24|-1.56
BG|Bulgaria|EU|42.73|25.49
BH|Bahrain|AS|25.93|50.64
BI|Burundi|AF|-3.37|29.92
BJ|Benin|AF|9.31|2.32
BL|Saint Barthélemy|NA|17.90|-62.83
BM|Bermuda|NA|32.32|-64.76
BN|Brunei|AS|4.54|114.73
BO|Bolivia|SA|-16.29|-63.59
BQ|Bonaire, Sint Eustatius and Saba|NA|12.18|-68.26
BR|Brazil|SA|-14.24|-51.93
BS|Bahamas|NA|25.03|-77.40
BT|Bhutan|AS|27.51|90.43
BV|Bouvet Island|AN|-54.42|3.41
BW|Botswana|AF|-22.33|24.68
BY|Belarus|EU|53.71|27.95
BZ|Belize|NA|17.19|-88.50
CA|Canada|NA|56.13|-106.35
CC|Cocos (Keeling) Islands|AS|-12.16|96.87
CD|Democratic Republic of the Congo|AF|-4.04|21.76
CF|Central African Republic|AF|6.61|20.94
CG|Republic of the Congo|AF|-0.23|15.83
CH|Switzerland|EU|46.82|8.23
CI|Côte d'Ivoire|AF|7.54|-5.55
CK|Cook Islands|OC|-21.24|-159.78
CL|Chile|SA|-35.68|-71.54
CM|Cameroon|AF|7.37|12.35
CN|China|AS|35.86|104.20
CO|Colombia|SA|4.57|-74.30
CR|Costa Rica|NA|9.75|-83.75
CU|Cuba|NA|21.52|-77.78
CV|Cabo Verde|AF|16.00|-24.01
CW|Curaçao|NA|12.17|-68.99
CX|Christmas Island|AS|-10.45|105.69
CY|Cyprus|EU|35.13|33.43
CZ|Czechia|EU|49.82|15.47
DE|Germany|EU|51.17|10.45
DJ|Djibouti|AF|11.83|42.59
DK|Denmark|EU|56.26|9.50
DM|Dominica|NA|15.41|-61.37
DO|Dominican Republic|NA|18.74|-70.16
DZ|Algeria|AF|28.03|1.66
EC|Ecuador|SA|-1.83|-78.18
EE|Estonia|EU|58.60|25.01
EG|Egypt|AF|26.82|30.80
EH|Western Sahara|AF|24.22|-12.89
ER|Eritrea|AF|15.18|39.78
ES|Spain|EU|40.46|-3.75
ET|Ethiopia|AF|9.15|40.49
FI|Finland|EU|61.92|25.75
FJ|Fiji|OC|-16.58|179.41
FK|Falkland Islands|SA|-51.80|-59.52
FM|Micronesia|OC|7.43|150.55
FO|Faroe Islands|EU|61.89|-6.91
FR|France|EU|46.23|2.21
GA|Gabon|AF|-0.80|11.61
GB|United Kingdom|EU|55.38|-3.44
GD|Grenada|NA|12.26|-61.60
GE|Georgia|AS|42.32|43.36
GF|French Guiana|SA|3.93|-53.13
GG|Guernsey|EU|49.47|-2.59
GH|Ghana|AF|7.95|-1.02
GI|Gibraltar|EU|36.14|-5.35
GL|Greenland|NA|71.71|-42.60
GM|Gambia|AF|13.44|-15.31
GN|Guinea|AF|9.95|-9.70
GP|Guadeloupe|NA|16.00|-61.73
GQ|Equatorial Guinea|AF|1.65|10.27
GR|Greece|EU|39.07|21.82
GS|South Georgia and the South Sandwich Islands|AN|-54.43|-36.59
GT|Guatemala|NA|15.78|-90.23
GU|Guam|OC|13.44|144.79
GW|Guinea-Bissau|AF|11.80|-15.18
GY|Guyana|SA|4.86|-58.93
HK|Hong Kong|AS|22.40|114.11
HM|Heard Island and McDonald Islands|AN|-53.08|73.50
HN|Honduras|NA|15.20|-86.24
HR|Croatia|EU|45.10|15.20
HT|Haiti|NA|18.97|-72.29
HU|Hungary|EU|47.16|19.50
ID|Indonesia|AS|-0.79|113.92
IE|Ireland|EU|53.41|-8.24
IL|Israel|AS|31.05|34.85
IM|Isle of Man|EU|54.24|-4.55
IN|India|AS|20.59|78.96
IO|British Indian Ocean Territory|AS|-6.34|71.88
IQ|Iraq|AS|33.22|43.68
IR|Iran|AS|32.43|53.69
IS|Iceland|EU|64.96|-19.02
IT|Italy|EU|41.87|12.57
JE|Jersey|EU|49.21|-2.13
JM|Jamaica|NA|18.11|-77.30
JO|Jordan|AS|30.59|36.24
JP|Japan|AS|36.20|138.25
KE|Kenya|AF|-0.02|37.91
KG|Kyrgyzstan|AS|41.20|74.77
KH|Cambodia|AS|12.57|104.99
KI|Kiribati|OC|-3.37|-168.73
KM|Comoros|AF|-11.88|43.87
KN|Saint Kitts and Nevis|NA|17.36|-62.78
KP|North Korea|AS|40.34|127.51
KR|South Korea|AS|35.91|127.77
KW|Kuwait|AS|29.31|47.48
KY|Cayman Islands|NA|19.51|-80.57
KZ|Kazakhstan|AS|48.02|66.92
LA|Laos|AS|19.86|102.50
LB|Lebanon|AS|33.85|35.86
LC|Saint Lucia|NA|13.91|-60.98
LI|Liechtenstein|EU|47.17|9.56
LK|Sri Lanka|AS|7.87|80.77
LR|Liberia|AF|6.43|-9.43
LS|Lesotho|AF|-29.61|28.23
LT|Lithuania|EU|55.17|23.88
LU|Luxembourg|EU|49.82|6.13
LV|Latvia|EU|56.88|24.60
LY|Libya|AF|26.34|17.23
MA|Morocco|AF|31.79|-7.09
MC|Monaco|EU|43.75|7.41
MD|Moldova|EU|47.41|28.37
ME|Montenegro|EU|42.71|19.37
MF|Saint Martin (French part)|NA|18.08|-63.05
MG|Madagascar|AF|-18.77|46.87
MH|Marshall Islands|OC|7.13|171.18
MK|North Macedonia|EU|41.61|21.75
ML|Mali|AF|17.57|-4.00
MM|Myanmar|AS|21.91|95.96
MN|Mongolia|AS|46.86|103.85
MO|Macao|AS|22.20|113.54
MP|Northern Mariana Islands|OC|17.33|145.38
MQ|Martinique|NA|14.64|-61.02
MR|Mauritania|AF|21.01|-10.94
MS|Montserrat|NA|16.74|-62.19
MT|Malta|EU|35.94|14.38
MU|Mauritius|AF|-20.35|57.55
MV|Maldives|AS|3.20|73.22
MW|Malawi|AF|-13.25|34.30
MX|Mexico|NA|23.63|-102.55
MY|Malaysia|AS|4.21|101.98
MZ|Mozambique|AF|-18.67|35.53
NA|Namibia|AF|-22.96|18.49
NC|New Caledonia|OC|-20.90|165.62
NE|Niger|AF|17.61|8.08
NF|Norfolk Island|OC|-29.04|167.95
NG|Nigeria|AF|9.08|8.68
NI|Nicaragua|NA|12.87|-85.21
NL|Netherlands|EU|52.13|5.29
NO|Norway|EU|60.47|8.47
NP|Nepal|AS|28.39|84.12
NR|Nauru|OC|-0.52|166.93
NU|Niue|OC|-19.05|-169.87
NZ|New Zealand|OC|-40.90|174.89
OM|Oman|AS|21.51|55.92
PA|Panama|NA|8.54|-80.78
PE|Peru|SA|-9.19|-75.02
PF|French Polynesia|OC|-17.68|-149.41
PG|Papua New Guinea|OC|-6.31|143.96
PH|Philippines|AS|12.88|121.77
PK|Pakistan|AS|30.38|69.35
PL|Poland|EU|51.92|19.15
PM|Saint Pierre and Miquelon|NA|46.94|-56.27
PN|Pitcairn Islands|OC|-24.70|-127.44
PR|Puerto Rico|NA|18.22|-66.59
PS|Palestine|AS|31.95|35.23
PT|Portugal|EU|39.40|-8.22
PW|Palau|OC|7.51|134.58
PY|Paraguay|SA|-23.44|-58.44
QA|Qatar|AS|25.35|51.18
RE|Réunion|AF|-21.12|55.54
RO|Romania|EU|45.94|24.97
RS|Serbia|EU|44.02|21.01
RU|Russia|EU|61.52|105.32
RW|Rwanda|AF|-1.94|29.87
SA|Saudi Arabia|AS|23.89|45.08
SB|Solomon Islands|OC|-9.65|160.16
SC|Seychelles|AF|-4.68|55.49
SD|Sudan|AF|12.86|30.22
SE|Sweden|EU|60.13|18.64
SG|Singapore|AS|1.35|103.82
SH|Saint Helena, Ascension and Tristan da Cunha|AF|-15.96|-5.71
SI|Slovenia|EU|46.15|15.00
SJ|Svalbard and Jan Mayen|EU|77.55|23.67
SK|Slovakia|EU|48.67|19.70
SL|Sierra Leone|AF|8.46|-11.78
SM|San Marino|EU|43.94|12.46
SN|Senegal|AF|14.50|-14.45
SO|Somalia|AF|5.15|46.20
SR|Suriname|SA|3.92|-56.03
SS|South Sudan|AF|7.86|29.69
ST|São Tomé and Príncipe|AF|0.19|6.61
SV|El Salvador|NA|13.79|-88.90
SX|Sint Maarten (Dutch part)|NA|18.04|-63.07
SY|Syria|AS|34.80|39.00
SZ|Eswatini|AF|-26.52|31.47
TC|Turks and Caicos Islands|NA|21.69|-71.80
TD|Chad|AF|15.45|18.73
TF|French Southern Territories|AN|-49.28|69.35
TG|Togo|AF|8.62|0.82
TH|Thailand|AS|15.87|100.99
TJ|Tajikistan|AS|38.86|71.28
TK|Tokelau|OC|-8.97|-171.86
TL|Timor-Leste|OC|-8.87|125.73
TM|Turkmenistan|AS|38.97|59.56
TN|Tunisia|AF|33.89|9.54
TO|Tonga|OC|-21.18|-175.20
TR|Türkiye|AS|38.96|35.24
TT|Trinidad and Tobago|NA|10.69|-61.22
TV|Tuvalu|OC|-7.11|177.65
TW|Taiwan|AS|23.70|120.96
TZ|Tanzania|AF|-6.37|34.89
UA|Ukraine|EU|48.38|31.17
UG|Uganda|AF|1.37|32.29
UM|United States Minor Outlying Islands|OC|19.28|166.65
US|United States|NA|37.09|-95.71
UY|Uruguay|SA|-32.52|-55.77
UZ|Uzbekistan|AS|41.38|64.59
VA|Vatican City|EU|41.90|12.45
VC|Saint Vincent and the Grenadines|NA|12.98|-61.29
VE|Venezuela|SA|6.42|-66.59
VG|British Virgin Islands|NA|18.42|-64.64
VI|U.S. Virgin Islands|NA|18.34|-64.90
VN|Vietnam|AS|14.06|108.28
VU|Vanuatu|OC|-15.38|166.96
WF|Wallis and Futuna|OC|-13.77|-177.16
WS|Samoa|OC|-13.76|-172.10
XK|Kosovo|EU|42.60|20.90
YE|Yemen|AS|15.55|48.52
YT|Mayotte|AF|-12.83|45.17
ZA|South Africa|AF|-30.56|22.94
ZM|Zambia|AF|-13.13|27.85
ZW|Zimbabwe|AF|-19.02|29.15
`

export const CONTINENTS: ReadonlySet<Continent> = new Set<Continent>(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'])

function parse(data: string): ReadonlyMap<string, CountryInfo> {
  const map = new Map<string, CountryInfo>()
  for (const line of data.split('\n')) {
    if (line.trim() === '') continue
    const [code, name, continent, lat, lon] = line.split('|')
    if (code === undefined || name === undefined || continent === undefined || lat === undefined || lon === undefined ||
        !CONTINENTS.has(continent as Continent)) {
      throw new Error(`countries: bad line ${JSON.stringify(line)}`)
    }
    map.set(code, Object.freeze({ name, continent: continent as Continent, latitude: Number(lat), longitude: Number(lon) }))
  }
  return map
}

const map = parse(DATA)
// A frozen Map still has working set/delete/clear; make them throw so the table stays read-only.
for (const method of ['set', 'delete', 'clear'] as const) {
  Object.defineProperty(map, method, { value: () => { throw new TypeError('COUNTRIES is read-only') } })
}

export const COUNTRIES: ReadonlyMap<string, CountryInfo> = Object.freeze(map)
